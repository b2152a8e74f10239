"""The Llama3 tokenizer: checked file, MindFormers' encoding rules, the digit option."""

import pickle
import shutil

import pytest
from datagen.curricula.tokenizer import (
    BOS_ID,
    EOS_ID,
    LLAMA3_TOKENIZER_SHA256,
    PAD_ID,
    TokenizerError,
    default_tokenizer_path,
    file_sha256,
    load_tokenizer,
    parse_ranks,
    special_token_names,
)


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer()


@pytest.mark.slow
def test_default_tokenizer_is_the_official_llama3_file(tok):
    assert default_tokenizer_path().name == "tokenizer.model"
    assert tok.sha256 == LLAMA3_TOKENIZER_SHA256
    assert tok.encoding.n_vocab == 128_256


def test_special_ids_are_llama3s():
    names = special_token_names()
    assert len(names) == 256
    assert names[BOS_ID - 128_000] == "<|begin_of_text|>"
    assert names[EOS_ID - 128_000] == "<|end_of_text|>"
    assert names[PAD_ID - 128_000] == "<|reserved_special_token_0|>"
    assert names[9] == "<|eot_id|>" and names[-1] == "<|reserved_special_token_250|>"


def test_chinese_arithmetic_encodes_to_pinned_ids(tok):
    # ids from MindFormers' Llama3Tokenizer on the same text
    assert tok.encode("计算 1234.5 + -2 等于多少？") == [
        112352, 220, 4513, 19, 13, 20, 489, 482, 17, 111276, 35304, 115251, 11571,
    ]


@pytest.mark.slow
def test_digits_group_in_threes_by_default_and_one_by_one_on_request(tok):
    assert [tok.decode([t]) for t in tok.encode("1234567")] == ["123", "456", "7"]
    single = load_tokenizer(digits=1)
    assert [single.decode([t]) for t in single.encode("1234567")] == list("1234567")
    assert single.encode("abc") == tok.encode("abc")  # only numbers change


def test_special_token_text_becomes_special_ids_like_mindformers(tok):
    assert tok.encode("a<|end_of_text|>") == [64, EOS_ID]
    assert EOS_ID not in tok.encode_ordinary("a<|end_of_text|>")


def test_text_is_nfc_normalised_before_encoding(tok):
    assert tok.encode("Cafe\u0301") == tok.encode("Caf\u00e9")


def test_decode_round_trips(tok):
    text = "What is -4.03 - 1.50? 答案：-5.53"
    assert tok.decode(tok.encode(text)) == text


def test_altered_tokenizer_file_is_refused_naming_it(tmp_path):
    copy = tmp_path / "tokenizer.model"
    shutil.copyfile(default_tokenizer_path(), copy)
    with open(copy, "ab") as handle:
        handle.write(b"\n")
    with pytest.raises(TokenizerError, match=str(copy)) as info:
        load_tokenizer(copy)
    assert "does not match" in str(info.value)


@pytest.mark.slow
def test_expected_hash_can_be_given_for_another_file(tmp_path):
    copy = tmp_path / "tokenizer.model"
    shutil.copyfile(default_tokenizer_path(), copy)
    with pytest.raises(TokenizerError, match="does not match"):
        load_tokenizer(copy, sha256="0" * 64)
    assert load_tokenizer(copy, sha256=file_sha256(copy)).sha256 == LLAMA3_TOKENIZER_SHA256


def test_missing_file_and_bad_digits_are_errors(tmp_path):
    with pytest.raises(TokenizerError, match="not found"):
        load_tokenizer(tmp_path / "nope.model")
    with pytest.raises(TokenizerError, match="digits"):
        load_tokenizer(digits=2)


def test_malformed_rank_file_names_the_line():
    with pytest.raises(TokenizerError, match=r"ranks.txt:2"):
        parse_ranks([b"IQ== 0", b"not-a-rank-line"], "ranks.txt")
    assert parse_ranks([b"IQ== 0", b"", b"Ig== 1"], "x") == {b"!": 0, b'"': 1}


def test_tokenizer_survives_pickling_for_worker_processes(tok):
    again = pickle.loads(pickle.dumps(tok))
    assert again.encode("12345") == tok.encode("12345")
    assert again.sha256 == tok.sha256


def test_registry_gives_the_llama3_tokenizer_by_name_with_its_chat_template(tok):
    from datagen.curricula.tokenizer import TOKENIZERS, get_tokenizer

    again = get_tokenizer("llama3")
    assert again is tok  # the same checked, cached load
    assert TOKENIZERS["llama3"].chat_template == "vicuna_v1.1"
    one = get_tokenizer("llama3", split_digits=1)
    assert one.split_digits == 1 and one.describe() == {
        "name": "llama3", "path": str(default_tokenizer_path()), "sha256": LLAMA3_TOKENIZER_SHA256, "split_digits": 1,
    }


def test_unknown_tokenizer_name_is_a_usage_error_listing_the_registered_ones():
    from datagen.curricula.tokenizer import get_tokenizer

    from datagen.errors import UsageError

    with pytest.raises(UsageError, match=r"tokenizer: unknown tokenizer 'gpt9' \(registered: llama3"):
        get_tokenizer("gpt9")


def test_a_tokenizer_can_be_registered_by_module_path_and_loads_on_first_use(monkeypatch):
    from datagen.curricula import tokenizer as module

    monkeypatch.setitem(module.TOKENIZERS, "llama3-again", module.TokenizerEntry(
        "llama3-again", "datagen.curricula.tokenizer:load_llama3", chat_template="vicuna_v1.1"))
    assert module.get_tokenizer("llama3-again").encode("12345") == load_tokenizer().encode("12345")


def test_pieces_encode_as_separate_calls(tok):
    pieces = [" 计算 1234.5 + -2", " 1 + 2 = 3", " x"]
    stream, starts, lengths = tok.encode_pieces(pieces)
    assert [stream[s:s + n].tolist() for s, n in zip(starts, lengths)] == [tok.encode_plain(p) for p in pieces]
    assert tok.piecewise_safe("abc") and not tok.piecewise_safe("a<|eot_id|>") and not tok.piecewise_safe("e\u0301")


def test_missing_tiktoken_names_the_data_extra(monkeypatch, tmp_path):
    import sys

    from datagen.curricula import tokenizer as module

    from datagen.errors import MissingExtraError

    copy = tmp_path / "tokenizer.model"
    shutil.copyfile(default_tokenizer_path(), copy)
    monkeypatch.setitem(sys.modules, "tiktoken", None)
    monkeypatch.setattr(module, "_CACHE", {})
    with pytest.raises(MissingExtraError) as info:
        load_tokenizer(copy)
    assert str(info.value) == "the Llama3 tokenizer needs tiktoken, which is not installed; pip install '.[data]'"
