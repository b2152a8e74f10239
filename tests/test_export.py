"""Export: conversation JSON and MindRecord token-for-token as MindFormers' Llama3 preprocessing."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datagen.curricula import conversation as conv
from datagen.curricula import export as ex
from datagen.curricula.codec import PromptCodec, encode_conversations
from datagen.curricula.templates import human_turn
from datagen.curricula.tokenizer import BOS_ID, EOS_ID, PAD_ID, load_tokenizer

import datagen.rows as rows_module
from datagen.errors import InputError, OutputError
from datagen.rows import RowReader, parse_lines

FIXTURES = Path(__file__).parent / "fixtures" / "export"
REFERENCE = json.loads((FIXTURES / "mindformers_reference.json").read_text(encoding="utf-8"))["cases"]
SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer()


def conversation(*turns, lead=None):
    roles = ("human", "gpt")
    turns_json = [{"from": roles[i % 2], "value": text} for i, text in enumerate(turns)]
    if lead:
        turns_json.insert(0, {"from": lead, "value": "You are a calculator."})
    return {"id": "t", "conversations": turns_json}


def encode(items, seq_length, tokenizer, template="raw", overlong="truncate", cached=True):
    codec = PromptCodec(tokenizer)
    codec.cached = codec.cached and cached
    turns = [conv.to_conversation(item, template, f"test-{i}").turns for i, item in enumerate(items, 1)]
    batch = encode_conversations(turns, codec, seq_length + 1, overlong)
    input_ids, labels = batch.arrays()
    return input_ids, labels, batch


def generated_records(n=400, style="contest"):
    from datagen.family import FAMILY_ORDER
    from datagen.generate import Generator, Request

    generator = Generator(Request(types=tuple(FAMILY_ORDER), n=n, seed=11, style=style, allow_duplicates=True))
    return [generator.item(i) for i in range(n)]


# ---- rendering ---------------------------------------------------------------------------------


def test_fastchat_vicuna_rendering_is_the_exact_text_mindformers_splits():
    assert conv.render_prompt(["计算 1 + 2 等于多少？", "1 + 2 = 3"]) == (
        f"{SYSTEM} USER: 计算 1 + 2 等于多少？ ASSISTANT: 1 + 2 = 3</s>"
    )
    assert conv.render_prompt(["q1", "a1", "q2", "a2"]) == (
        f"{SYSTEM} USER: q1 ASSISTANT: a1</s>USER: q2 ASSISTANT: a2</s>"
    )


def test_records_become_template_human_turn_and_solution_answer():
    record = {"id": "syn-1", "problem": "计算 2 + 3 等于多少？", "solution": "2 + 3 = 5"}
    made = conv.to_conversation(record, "alpaca_zh", "f-1")
    assert made.id == "syn-1"
    assert made.turns == (human_turn("alpaca_zh", record["problem"]), "2 + 3 = 5")
    assert conv.to_conversation({"problem": "q", "solution": "a"}, "raw", "f-7").id == "f-7"


# ---- token identity with MindFormers -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", REFERENCE, ids=[c["name"] for c in REFERENCE])
@pytest.mark.parametrize("cached", [True, False], ids=["cached", "direct"])
def test_ids_and_labels_match_mindformers_preprocessing(case, cached):
    tokenizer = load_tokenizer(digits=case["digits"])
    item = {"id": case["name"], "conversations": case["conversations"]}
    input_ids, labels, _ = encode([item], case["seq_length"], tokenizer, cached=cached)
    assert input_ids[0].tolist() == case["input_ids"]
    assert labels[0].tolist() == case["labels"]


def test_pinned_answer_tokens_show_the_trained_space(tok):
    chinese = next(c for c in REFERENCE if c["name"] == "chinese")
    trained = [t for t in chinese["labels"] if t != -100]
    # the space after "ASSISTANT:" is trained: alone (220) before a digit, joined as " -" before a minus
    assert trained == [220, 12819, 19, 13, 1313, 489, 482, 14087, 24, 13, 1114, 284, 220, 10750, 20, 13, 2304, EOS_ID]
    assert tok.decode(trained) == " 4204.22 + -2369.17 = 1835.05<|end_of_text|>"
    english = next(c for c in REFERENCE if c["name"] == "english")
    assert [t for t in english["labels"] if t != -100] == [
        482, 19, 13, 2839, 482, 220, 16, 13, 1135, 284, 482, 20, 13, 4331, EOS_ID,
    ]
    assert chinese["input_ids"][0] == BOS_ID and chinese["input_ids"][-1] == PAD_ID
    digits1 = next(c for c in REFERENCE if c["name"] == "chinese_digits1")
    assert [t for t in digits1["labels"] if t != -100][:8] == [220, 19, 17, 15, 19, 13, 17, 17]  # 4 2 0 4 . 2 2


def test_negative_answer_joins_the_space_and_minus(tok):
    case = next(c for c in REFERENCE if c["name"] == "bare_number_answer")
    trained = [t for t in case["labels"] if t != -100]
    assert tok.decode([trained[0]]) == " -"
    assert tok.decode(trained) == " -0.8961641<|end_of_text|>"


def test_two_rounds_second_starts_with_user_without_space(tok):
    case = next(c for c in REFERENCE if c["name"] == "two_rounds")
    ids = [t for t in case["input_ids"] if t != PAD_ID]
    assert ids.count(BOS_ID) == 1 and ids.count(EOS_ID) == 2
    after_first = ids[ids.index(EOS_ID) + 1:]
    assert tok.decode(after_first[:2]) == "USER:"
    trained = tok.decode([t for t in case["labels"] if t != -100])
    assert trained == " 1 + 2 = 3<|end_of_text|> 10 * -3 = -30<|end_of_text|>"


def test_overlong_answer_trains_to_the_last_position_without_eos(tok):
    case = next(c for c in REFERENCE if c["name"] == "overlong_answer")
    assert len(case["input_ids"]) == case["seq_length"] + 1
    assert case["labels"][-1] == case["input_ids"][-1] != EOS_ID
    assert PAD_ID not in case["input_ids"]


def test_overlong_prompt_gives_a_fully_masked_record():
    case = next(c for c in REFERENCE if c["name"] == "overlong_prompt")
    assert set(case["labels"]) == {-100}


def test_cached_and_direct_paths_agree_on_generated_records(tok):
    for style, template in (("contest", "raw"), ("steps", "alpaca_zh"), ("bare", "alpaca")):
        records = generated_records(300, style)
        fast = encode(records, 256, tok, template=template)
        slow = encode(records, 256, tok, template=template, cached=False)
        assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
        assert fast[2].batched > 0 and slow[2].batched == 0


EDGE_CASES = [
    ("q ", "a"),
    ("q\n", "\n解题过程\n答案：12"),
    ("q\t", "  a"),
    ("q", "a\n"),
    ("hello ASSISTANT: x", "a"),
    ("q", "a ASSISTANT: b"),
    ("q</s>x", "a"),
    ("q", "a</s></s>b"),
    ("q<|end_of_text|>", "a"),
    ("q", "a<|reserved_special_token_0|>"),
    ("Cafe\u0301", "e\u0301"),
    ("it's", "'s"),
    ("q\u3000", "a"),
    ("q", "a", "q2 ", "a2"),
    ("USER: hi", "ASSISTANT: yo"),
    ("🙂", "😀"),
]


@pytest.mark.parametrize("seq_length", [256, 24])
def test_cached_and_direct_paths_agree_on_awkward_text(tok, seq_length):
    items = [conversation(*turns) for turns in EDGE_CASES]
    fast = encode(items, seq_length, tok)
    slow = encode(items, seq_length, tok, cached=False)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])


def test_unsplittable_rounds_are_fully_masked_and_width_long(tok):
    # MindFormers stops labelling at a round it cannot split on " ASSISTANT: ";
    # its labels then stay longer than the record, here they are cut to the width
    _, labels, batch = encode([conversation("q", "a ASSISTANT: b")] * 2, 16, tok)
    assert labels.shape == (2, 17) and (labels == -100).all()
    assert batch.fully_masked == 2


# ---- rows in, rejects out ----------------------------------------------------------------------


@pytest.mark.mindspore
def test_bad_rows_are_rejected_with_line_and_field(tmp_path, tok):
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"problem": "计算 1 + 1 等于多少？", "solution": "1 + 1 = 2"}\n'
        "{not json}\n"
        '{"problem": "q"}\n'
        "\n"
        '{"problem": 3, "solution": "x"}\n'
        '{"conversations": [{"from": "human", "value": "q"}, {"from": "human", "value": "q"}]}\n'
        '{"conversations": [{"from": "human", "value": "q"}]}\n'
        '["a list"]\n',
        encoding="utf-8",
    )
    summary = ex.export_mindrecord(ex.read_rows(source), tmp_path / "out.mindrecord", tokenizer=tok, seq_length=64)
    # rows: the usable rows, as the row reader and audit count them (rejected and blank apart)
    assert (summary["rows"], summary["blank"], summary["records"], summary["rejected"]) == (1, 1, 1, 6)
    got = [(r["line"], r["field"], r["reason"].split(":")[0]) for r in summary["rejects"]]
    assert got == [
        (2, None, "not valid JSON"),
        (3, "solution", "is missing"),
        (5, "problem", "must be a string, got int"),
        (6, "conversations[1].from", "expected 'gpt' (turns alternate), got 'human'"),
        (7, "conversations", "ends with a human turn (no answer to train on)"),
        (8, None, "not a JSON object (a list)"),
    ]
    assert {r["file"] for r in summary["rejects"]} == {str(source)}
    lines = Path(summary["rejects_file"]).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    assert json.loads(lines[1]) == {"file": str(source), "line": 3, "field": "solution", "reason": "is missing",
                                    "raw": '{"problem": "q"}'}


@pytest.mark.mindspore
@pytest.mark.slow
def test_rejects_are_the_row_readers_whatever_the_worker_count(tmp_path, tok):
    source = Path(__file__).parent / "fixtures" / "export" / "golden_records.jsonl"
    reader = RowReader(source, check=conv.check_row)
    list(reader)
    expected = [r.as_dict() for r in reader.rejects]
    for workers in (0, 1):
        summary = ex.export_mindrecord(ex.read_rows(source), tmp_path / f"w{workers}" / "t.mindrecord",
                                       tokenizer=tok, seq_length=64, workers=workers)
        kept = [json.loads(line) for line in Path(summary["rejects_file"]).read_text(encoding="utf-8").splitlines()]
        assert kept == expected and summary["rejected"] == len(expected) == 8
        assert summary["rows"] == reader.rows and summary["blank"] == reader.blank == 2


@pytest.mark.mindspore
def test_strict_mode_fails_and_leaves_nothing(tmp_path, tok):
    rows = [{"problem": "q", "solution": "a"}, {"problem": "q"}]
    with pytest.raises(InputError, match="records:2: solution: is missing; --strict: nothing was written"):
        ex.export_mindrecord(rows, tmp_path / "out.mindrecord", tokenizer=tok, strict=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_leading_non_human_turn_is_dropped(tok):
    with_lead = encode([conversation("What is 7 - 9?", "7 - 9 = -2", lead="gpt")], 64, tok)
    without = encode([conversation("What is 7 - 9?", "7 - 9 = -2")], 64, tok)
    assert np.array_equal(with_lead[0], without[0]) and np.array_equal(with_lead[1], without[1])


@pytest.mark.parametrize("block", [7, 1 << 20])
def test_conversation_json_is_streamed_with_line_numbers(tmp_path, tok, monkeypatch, block):
    monkeypatch.setattr(rows_module, "BLOCK", block)
    items = [conversation(f"q{i}", f"a{i}") for i in range(5)]
    path = tmp_path / "conv.json"
    path.write_text("[\n" + ",\n".join(json.dumps(c) for c in items) + "\n]\n", encoding="utf-8")
    reader = ex.read_rows(path)
    assert reader.sniff() == "json-list"
    assert [(r.line, r.data) for r in reader] == [(n, item) for n, item in zip(range(2, 7), items)]
    path.write_text('[{"conversations": []},\n{"conv', encoding="utf-8")
    with pytest.raises(InputError, match=rf"{path}:2: not valid JSON"):
        ex.export_conversation(ex.read_rows(path), tmp_path / "c.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv.json"]


def test_jsonl_blocks_parse_like_the_reader_with_the_same_line_numbers(tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [json.dumps({"problem": f"p{i}", "solution": "s"}) for i in range(50)]
    lines[7] = "{broken"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\n\n\xff\n")
    whole = RowReader(path, check=conv.check_row)
    rows = [(r.line, r.data) for r in whole]
    blocks = list(RowReader(path).blocks(size=64))
    assert len(blocks) > 5
    parsed = [parse_lines(b, conv.check_row) for b in blocks]
    assert [(r.line, r.data) for p in parsed for r in p.rows] == rows
    assert [r for p in parsed for r in p.rejects] == whole.rejects
    assert [r.line for r in whole.rejects] == [8, 52] and sum(p.blank for p in parsed) == whole.blank == 1


# ---- files -------------------------------------------------------------------------------------


def read_mindrecord(path):
    import mindspore.dataset as ds

    data = ds.MindDataset(str(path), columns_list=["input_ids", "labels"], shuffle=False)
    return [(row["input_ids"], row["labels"]) for row in data.create_dict_iterator(output_numpy=True, num_epochs=1)]


GOLDEN = json.loads((FIXTURES / "golden_outputs.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.mindspore
@pytest.mark.slow
@pytest.mark.parametrize("name", list(GOLDEN))
def test_output_bytes_equal_the_pre_split_export(tmp_path, name):
    # sha256 of every file the export wrote before it was split into modules (fixture provenance)
    case = GOLDEN[name]
    options = dict(case["options"])
    source = ex.read_rows(FIXTURES / case["input"])
    if case["to"] == "mindrecord":
        tokenizer = load_tokenizer(digits=options.pop("split_digits", 3))
        summary = ex.export_mindrecord(source, tmp_path / "train.mindrecord", tokenizer=tokenizer, workers=1,
                                       manifest=False, **options)
    else:
        summary = ex.export_conversation(source, tmp_path / "conversation.json", manifest=False, **options)
    assert {Path(f["path"]).name: f["sha256"] for f in summary["files"]} == case["files"]
    for key in ("records", "rejected", "truncated", "dropped", "fully_masked", "tokens", "trained"):
        if key in case:
            assert summary[key] == case[key], key


@pytest.mark.mindspore
def test_mindrecord_reads_back_and_labels_decode_to_answer_plus_eos(tmp_path, tok):
    records = generated_records(60)
    summary = ex.export_mindrecord(records, tmp_path / "train.mindrecord", "alpaca_zh", 256, tok)
    rows = read_mindrecord(tmp_path / "train.mindrecord")
    assert summary["records"] == len(rows) == 60
    for record, (input_ids, labels) in zip(records, rows):
        assert input_ids.dtype == labels.dtype == np.int32
        assert input_ids.shape == labels.shape == (257,)
        trained = labels[labels != -100]
        assert np.array_equal(trained, input_ids[labels != -100])
        assert tok.decode(trained.tolist()) == " " + record["solution"] + "<|end_of_text|>"
    manifest = json.loads((tmp_path / "train.mindrecord.manifest.json").read_text(encoding="utf-8"))
    assert manifest["tokenizer"]["sha256"] == tok.sha256
    assert [Path(f["path"]).name for f in manifest["files"]] == ["train.mindrecord", "train.mindrecord.db"]
    assert manifest["writer"] == {"used": "native", "note": None} == summary["writer"]
    assert not (tmp_path / "train.mindrecord.rejects.jsonl").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.mindspore
def test_overlong_records_are_counted_truncated_or_dropped(tmp_path, tok):
    rows = [{"problem": "q", "solution": "1234567 " * 40}, {"problem": "q", "solution": "ok"},
            {"problem": "计算 " * 80, "solution": "ok"}]
    kept = ex.export_mindrecord(rows, tmp_path / "t.mindrecord", tokenizer=tok, seq_length=64)
    assert (kept["records"], kept["truncated"], kept["dropped"], kept["fully_masked"]) == (3, 2, 0, 1)
    assert kept["warnings"][0] == ("2 of 3 records were longer than seq_length + 1 = 65 tokens and were "
                                   "truncated (--overlong drop leaves them out)")
    dropped = ex.export_mindrecord(rows, tmp_path / "d.mindrecord", tokenizer=tok, seq_length=64, overlong="drop")
    assert (dropped["records"], dropped["truncated"], dropped["dropped"], dropped["fully_masked"]) == (1, 0, 2, 0)
    assert dropped["warnings"] == ["2 records longer than seq_length + 1 = 65 tokens were dropped (--overlong drop)"]
    assert len(read_mindrecord(tmp_path / "d.mindrecord")) == 1


@pytest.mark.mindspore
@pytest.mark.slow
def test_fast_writer_bytes_equal_filewriter_public_path_and_workers_change_nothing(tmp_path, tok):
    records = generated_records(300)
    runs = {
        "public": {"fast_writer": False},
        "fast": {"fast_writer": True},
        "workers": {"workers": 2},
    }
    hashes, writers = {}, {}
    for name, options in runs.items():
        summary = ex.export_mindrecord(records, tmp_path / name / "t.mindrecord", "alpaca", 96, tok, **options)
        hashes[name] = [f["sha256"] for f in summary["files"]]
        writers[name] = summary["writer"]["used"]
    assert hashes["public"] == hashes["fast"] == hashes["workers"]
    assert writers == {"public": "public", "fast": "native", "workers": "native"}


@pytest.mark.mindspore
def test_writer_falls_back_to_the_public_call_and_says_so(tmp_path, tok, monkeypatch):
    from datagen.curricula import mindrecord

    monkeypatch.setattr(mindrecord.MindRecordSink, "_native_writer",
                        lambda self: setattr(self, "writer_note", "internals differ") or None)
    records = generated_records(40)
    summary = ex.export_mindrecord(records, tmp_path / "a" / "t.mindrecord", tokenizer=tok, seq_length=64)
    monkeypatch.undo()
    native = ex.export_mindrecord(records, tmp_path / "b" / "t.mindrecord", tokenizer=tok, seq_length=64)
    assert summary["writer"] == {"used": "public", "note": "internals differ"}
    assert [f["sha256"] for f in summary["files"]] == [f["sha256"] for f in native["files"]]


@pytest.mark.mindspore
@pytest.mark.slow
def test_shards_write_numbered_files_holding_the_same_rows(tmp_path, tok):
    records = generated_records(40)
    summary = ex.export_mindrecord(records, tmp_path / "s.mindrecord", tokenizer=tok, seq_length=64, shards=2)
    names = sorted(Path(f["path"]).name for f in summary["files"])
    assert names == ["s.mindrecord0", "s.mindrecord0.db", "s.mindrecord1", "s.mindrecord1.db"]
    ex.export_mindrecord(records, tmp_path / "one.mindrecord", tokenizer=tok, seq_length=64)
    # MindSpore spreads rows over shards in a different order each run: compare them as a set
    sharded = sorted(a.tobytes() + b.tobytes() for a, b in read_mindrecord(tmp_path / "s.mindrecord0"))
    single = sorted(a.tobytes() + b.tobytes() for a, b in read_mindrecord(tmp_path / "one.mindrecord"))
    assert len(sharded) == 40 and sharded == single


@pytest.mark.mindspore
def test_conversation_export_round_trips_to_the_same_mindrecord(tmp_path, tok):
    records = generated_records(80)
    summary = ex.export_conversation(records, tmp_path / "conv.json", "alpaca_zh")
    data = json.loads((tmp_path / "conv.json").read_text(encoding="utf-8"))
    assert summary["records"] == len(data) == 80
    assert data[0] == {
        "id": records[0]["id"],
        "conversations": [
            {"from": "human", "value": human_turn("alpaca_zh", records[0]["problem"])},
            {"from": "gpt", "value": records[0]["solution"]},
        ],
    }
    direct = ex.export_mindrecord(records, tmp_path / "a" / "t.mindrecord", "alpaca_zh", 128, tok)
    again = ex.export_mindrecord(ex.read_rows(tmp_path / "conv.json"), tmp_path / "b" / "t.mindrecord", "raw", 128, tok)
    assert direct["files"][0]["sha256"] == again["files"][0]["sha256"]


@pytest.mark.mindspore
def test_a_forced_run_without_rejects_removes_the_stale_rejects_file(tmp_path, tok):
    stale = tmp_path / "t.mindrecord.rejects.jsonl"
    stale.write_text('{"where": "old"}\n', encoding="utf-8")
    with pytest.raises(OutputError, match="t.mindrecord.rejects.jsonl exists; pass --force"):
        ex.export_mindrecord([{"problem": "q", "solution": "a"}], tmp_path / "t.mindrecord", tokenizer=tok)
    assert stale.read_text(encoding="utf-8") == '{"where": "old"}\n'
    summary = ex.export_mindrecord([{"problem": "q", "solution": "a"}], tmp_path / "t.mindrecord", tokenizer=tok,
                                   force=True)
    assert summary["rejected"] == 0 and summary["rejects_file"] is None and not stale.exists()


@pytest.mark.mindspore
@pytest.mark.slow
def test_forced_mindrecord_replaces_a_whole_sharded_set(tmp_path, tok):
    records = generated_records(20)
    ex.export_mindrecord(records, tmp_path / "t.mindrecord", tokenizer=tok, seq_length=64, shards=3)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert "t.mindrecord2.db" in before
    with pytest.raises(OutputError, match="exists; pass --force"):
        ex.export_mindrecord(records, tmp_path / "t.mindrecord", tokenizer=tok, seq_length=64)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    ex.export_mindrecord(records, tmp_path / "t.mindrecord", tokenizer=tok, seq_length=64, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.mindrecord", "t.mindrecord.db",
                                                          "t.mindrecord.manifest.json"]


@pytest.mark.mindspore
@pytest.mark.parametrize("to", ["conversation", "mindrecord"])
def test_nothing_to_export_is_an_error_that_writes_nothing(tmp_path, tok, to):
    export = ex.export_conversation if to == "conversation" else ex.export_mindrecord
    options = {} if to == "conversation" else {"tokenizer": tok}
    empty = tmp_path / "empty.json"
    empty.write_text("[\n]\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"{empty}: has no rows to export"):
        export(ex.read_rows(empty), tmp_path / "out", **options)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "q"}\n{"solution": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=rf"{bad}: none of its 2 rows could be exported; the first rejected: "
                                         rf"{bad}:1: solution: is missing"):
        export(ex.read_rows(bad), tmp_path / "out", **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "empty.json"]
    summary = export([], tmp_path / "out", allow_empty=True, **options)
    assert summary["records"] == 0 and (tmp_path / "out").exists()


@pytest.mark.mindspore
def test_split_digits_is_recorded_in_the_manifest(tmp_path):
    summary = ex.export_mindrecord([{"problem": "计算 12 + 345 等于多少？", "solution": "357"}],
                                   tmp_path / "t.mindrecord", seq_length=64, split_digits=1)
    assert summary["tokenizer"]["split_digits"] == 1 and summary["tokenizer"]["name"] == "llama3"
    saved = json.loads((tmp_path / "t.mindrecord.manifest.json").read_text(encoding="utf-8"))
    assert saved["tokenizer"] == summary["tokenizer"]
    ((_, labels),) = read_mindrecord(tmp_path / "t.mindrecord")
    assert load_tokenizer(digits=1).decode(labels[labels != -100].tolist()) == " 357<|end_of_text|>"
    old_name = ex.export_mindrecord([{"problem": "12", "solution": "345"}], tmp_path / "o.mindrecord",
                                    seq_length=64, digits=1)
    assert old_name["tokenizer"]["split_digits"] == 1


def test_conversation_export_validates_and_normalises_conversations(tmp_path):
    items = [conversation("What is 7 - 9?", "7 - 9 = -2", lead="system"), {"conversations": "nope"}]
    summary = ex.export_conversation(items, tmp_path / "c.json")
    assert (summary["records"], summary["rejected"]) == (1, 1)
    assert summary["rejects"][0] == {"file": "records", "line": 2, "field": "conversations",
                                     "reason": "must be a list of turns, got str", "raw": '{"conversations": "nope"}'}
    data = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert data == [{"id": "t", "conversations": [{"from": "human", "value": "What is 7 - 9?"},
                                                  {"from": "gpt", "value": "7 - 9 = -2"}]}]


@pytest.mark.slow
def test_importing_export_pulls_in_no_heavy_packages():
    code = ("import sys, curricula.export, datagen.cli; datagen.cli.build_parser(); "
            "print(sorted(m for m in ('numpy', 'tiktoken', 'mindspore', 'fastchat') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---- another tokenizer and chat template, through the same codec -------------------------------


class ByteTokenizer:
    """A toy tokenizer: one id per UTF-8 byte, specials above 255, no BOS (like ChatML models)."""

    name = "bytes-test"
    bos_id = None
    eos_id = 256
    pad_id = 257

    def encode(self, text):
        return list(text.encode("utf-8"))

    def decode(self, ids):
        return bytes(i for i in ids if i < 256).decode("utf-8")

    def describe(self):
        return {"name": self.name}


def chatml():
    # rounds end in a separator that is never tokenized: the codec closes each with EOS (<|im_end|>)
    def render(turns):
        return "".join(f"<|im_start|>user\n{turns[i]}<|im_end|>\n<|im_start|>assistant\n{turns[i + 1]}\x1e"
                       for i in range(0, len(turns), 2))

    return conv.ChatTemplate("chatml-test", render, round_separator="\x1e",
                             answer_separator="<|im_start|>assistant\n")


@pytest.mark.mindspore
def test_a_registered_tokenizer_and_chat_template_plug_into_the_codec(tmp_path):
    from datagen.curricula.tokenizer import get_tokenizer, register_tokenizer

    conv.register_chat_template("chatml-test", chatml)
    register_tokenizer("bytes-test", lambda path=None: ByteTokenizer(), chat_template="chatml-test")
    tokenizer = get_tokenizer("bytes-test")
    codec = PromptCodec(tokenizer)
    assert codec.template.name == "chatml-test" and not codec.cached
    batch = encode_conversations([("1+2?", "3")], codec, 64)
    ids, labels = batch.arrays()
    prompt = b"<|im_start|>user\n1+2?<|im_end|>\n<|im_start|>assistant\n"
    assert ids[0].tolist() == [*prompt, ord("3"), 256] + [257] * (64 - len(prompt) - 2)
    assert [t for t in labels[0].tolist() if t != -100] == [ord("3"), 256]
    two = encode_conversations([("a", "b", "c", "d")], codec, 128)
    assert tokenizer.decode([t for t in two.arrays()[1][0].tolist() if t != -100]) == "bd"
    summary = ex.export_mindrecord([{"problem": "1+2?", "solution": "3"}], tmp_path / "t.mindrecord",
                                   tokenizer=tokenizer, seq_length=63)
    assert summary["conversation_template"] == "chatml-test" and summary["special_ids"]["bos"] is None
    ((input_ids, stored),) = read_mindrecord(tmp_path / "t.mindrecord")
    assert np.array_equal(input_ids, ids[0]) and np.array_equal(stored, labels[0])


@pytest.mark.mindspore
def test_a_json_list_read_without_the_conversation_check_still_rejects_by_line(tmp_path, tok):
    path = tmp_path / "conv.json"
    items = [conversation("q1", "a1"), {"conversations": [{"from": "human", "value": "q"}]}, {"problem": "q"},
             conversation("q2", "a2")]
    path.write_text("[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]\n", encoding="utf-8")
    summary = ex.export_mindrecord(RowReader(path), tmp_path / "t.mindrecord", tokenizer=tok, workers=1)
    assert (summary["records"], summary["rejected"]) == (2, 2)
    assert [(r["line"], r["field"]) for r in summary["rejects"]] == [(3, "conversations"), (4, "solution")]
    assert summary["rejects"][1]["raw"] == '{"problem": "q"}'


def test_a_tokenizing_process_that_dies_is_an_error_not_a_hang(tmp_path, tok, monkeypatch):
    import os

    real = ex.encode_unit
    calls = []

    def dies_on_the_second(unit, job):
        calls.append(1)
        if len(calls) == 2:
            os._exit(3)
        return real(unit, job)

    monkeypatch.setattr(ex, "encode_unit", dies_on_the_second)
    monkeypatch.setattr(ex, "CHUNK_ROWS", 50)
    with pytest.raises(ex.WorkerError, match=r"died \(exit code 3\)"):
        ex.export_mindrecord(generated_records(200), tmp_path / "t.mindrecord", tokenizer=tok, workers=1)
    assert list(tmp_path.iterdir()) == []
