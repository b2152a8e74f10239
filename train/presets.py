"""Model presets (``configs/models/*.yaml``): a model's real dimensions and its finetune defaults.

Pure data, no MindSpore: the parameter counter, the plan renderer and the smoke run all read
the same preset, so a count printed by ``train params`` is the count of the model ``plan``
configures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datagen.rows import read_yaml

# keys a preset's model_config must give: the parameter count depends on every one of them
REQUIRED_DIMS = ("hidden_size", "num_layers", "num_heads", "vocab_size", "intermediate_size", "seq_length")


class PresetError(ValueError):
    """A preset is unknown or malformed; the message names it."""


def configs_dir() -> Path:
    """The ``configs/`` folder, as ``datagen.configs`` finds it (the one home for locating configs)."""
    from datagen.configs import configs_dir as find

    found = find()
    if not (found / "models").is_dir():
        raise PresetError(f"{found} holds no models/ folder with the model presets; set DATAGEN_CONFIGS to "
                          "a configs/ folder")
    return found


@dataclass(frozen=True)
class LoraDefaults:
    rank: int
    alpha: int
    dropout: float
    targets: str


@dataclass(frozen=True)
class TrainDefaults:
    learning_rate: float
    epochs: int
    batch_size: int
    cards: int
    model_parallel: int = 1  # the default layout's model_parallel (capped by the cards)
    # `train plan --device cpu`: the default batch is this many tokens over the seq_length (at least 1),
    # what fits in 4 GB (the logits, batch x seq x vocab, dominate)
    cpu_batch_tokens: int | None = None


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    arch: str
    config_type: str
    entry: str
    trainer_model_name: str
    template: str
    tokenizer: str
    model_config: dict
    lora: LoraDefaults
    train: TrainDefaults
    contest_total_params: int | None = None
    # model_config keys predict and the SQuAD eval override (the dtype the base model was measured in)
    inference_model_config: dict = field(default_factory=dict)
    pretrained: dict | None = None  # where real weights come from (a GGUF; see train/gguf.py)
    path: Path | None = field(default=None, compare=False)

    def dim(self, key: str) -> int:
        return int(self.model_config[key])

    @property
    def n_kv_heads(self) -> int:
        value = self.model_config.get("n_kv_heads")
        return int(value) if value else self.dim("num_heads")

    @property
    def head_dim(self) -> int:
        return self.dim("hidden_size") // self.dim("num_heads")

    @property
    def seq_length(self) -> int:
        return self.dim("seq_length")


def available_presets() -> list[str]:
    return sorted(p.stem for p in (configs_dir() / "models").glob("*.yaml"))


def load_preset(name: str) -> Preset:
    """The preset called ``name`` (a file stem in ``configs/models``) or a path to a preset yaml."""
    path = Path(name)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = configs_dir() / "models" / f"{name}.yaml"
        if not path.is_file():  # smollm2-135m names the preset smollm2_135m
            path = configs_dir() / "models" / f"{name.replace('-', '_')}.yaml"
        if not path.is_file():
            raise PresetError(f"unknown model {name!r} (choose from {', '.join(available_presets())})")
    raw = read_yaml(path)  # a syntax error: one line with the file, line and column
    if not isinstance(raw, dict):
        raise PresetError(f"{path}: a model preset must be a mapping")
    try:
        model_config = dict(raw["model_config"])
        missing = [key for key in REQUIRED_DIMS if model_config.get(key) in (None, "")]
        if missing:
            raise PresetError(f"{path}: model_config lacks {', '.join(missing)}")
        lora = LoraDefaults(**raw["lora"])
        train = TrainDefaults(**raw["train"])
        preset = Preset(
            name=str(raw["name"]),
            description=str(raw.get("description", "")),
            arch=str(raw.get("arch", "LlamaForCausalLM")),
            config_type=str(raw.get("config_type", "LlamaConfig")),
            entry=str(raw.get("entry", "run_mindformer.py")),
            trainer_model_name=str(raw.get("trainer_model_name", raw["name"])),
            template=str(raw.get("template", "finetune_llama.yaml")),
            tokenizer=str(raw.get("tokenizer", "llama3")),
            model_config=model_config,
            lora=lora,
            train=train,
            contest_total_params=raw.get("contest_total_params"),
            inference_model_config=dict(raw.get("inference_model_config") or {}),
            pretrained=dict(raw["pretrained"]) if raw.get("pretrained") else None,
            path=path,
        )
    except (KeyError, TypeError) as exc:
        raise PresetError(f"{path}: malformed preset ({exc})") from None
    hidden, heads = preset.dim("hidden_size"), preset.dim("num_heads")
    if hidden % heads or heads % preset.n_kv_heads:
        raise PresetError(
            f"{path}: hidden_size {hidden}, num_heads {heads} and n_kv_heads "
            f"{preset.n_kv_heads} do not divide evenly"
        )
    return preset
