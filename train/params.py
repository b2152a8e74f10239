"""LoRA's trainable parameters, counted from a preset's module names and shapes.

MindFormers (``pet/tuners/lora_adapter.py``) walks the backbone cell by cell and tests each
cell's *own* name (the key in its parent, e.g. ``wq``, never ``model.layers.0.attention.wq``)
with ``re.match(target_modules, name)``.  A matching Dense/Linear becomes a LoRA layer with
A (rank × in) and B (out × rank); a matching cell of any other kind is skipped *and not
descended into*; a non-matching cell is descended into.  Only the backbone (``model``) is
walked, so ``lm_head`` never gets LoRA.  This module mirrors that walk on a pure-Python tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from datagen.train.presets import Preset

CONTEST_WEIGHTS = (0.3, 0.7)
DEFAULT_ACCURACIES = (0.2, 0.5, 0.7161, 0.9, 1.0)


class TargetError(ValueError):
    """``--targets`` is not a regex or matches no Linear module; the message lists the names."""


@dataclass(frozen=True)
class Module:
    """A cell: its local name, what it is, and the parameters it holds itself."""

    name: str
    kind: str = "container"  # linear | embedding | norm | container | other
    in_features: int = 0
    out_features: int = 0
    bias: bool = False
    own_params: int = 0
    children: tuple[Module, ...] = ()

    @property
    def params(self) -> int:
        linear = self.in_features * self.out_features + (self.out_features if self.bias else 0)
        return self.own_params + linear + sum(child.params for child in self.children)


def _linear(
    name: str, in_features: int, out_features: int, bias: bool = False, children: tuple[Module, ...] = ()
) -> Module:
    return Module(name, "linear", in_features, out_features, bias, 0, children)


def llama_tree(preset: Preset) -> Module:
    """The cell tree of MindFormers' ``LlamaForCausalLM`` (names as in ``Cell._cells``)."""
    hidden = preset.dim("hidden_size")
    ffn = preset.dim("intermediate_size")
    vocab = preset.dim("vocab_size")
    kv_out = preset.n_kv_heads * preset.head_dim
    qkv_bias = bool(preset.model_config.get("qkv_has_bias"))
    out_bias = bool(preset.model_config.get("attn_proj_has_bias"))
    layers = []
    for index in range(preset.dim("num_layers")):
        attention = Module(
            "attention",
            children=(
                _linear("wq", hidden, hidden, qkv_bias),
                _linear("wk", hidden, kv_out, qkv_bias),
                _linear("wv", hidden, kv_out, qkv_bias),
                _linear("wo", hidden, hidden, out_bias),
                Module("apply_rotary_emb", "other"),
            ),
        )
        feed_forward = Module(
            "feed_forward",
            children=(
                _linear("w1", hidden, ffn, children=(Module("activation", "other"),)),
                _linear("w2", ffn, hidden),
                _linear("w3", hidden, ffn),
            ),
        )
        layers.append(
            Module(
                str(index),
                children=(
                    Module("ffn_norm", "norm", own_params=hidden),
                    Module("attention_norm", "norm", own_params=hidden),
                    attention,
                    feed_forward,
                ),
            )
        )
    backbone = Module(
        "model",
        children=(
            Module("freqs_mgr", "other"),
            Module("casual_mask", "other"),
            Module("tok_embeddings", "embedding", own_params=vocab * hidden),
            Module("layers", children=tuple(layers)),
            Module("norm_out", "norm", own_params=hidden),
        ),
    )
    tied = bool(preset.model_config.get("tie_word_embeddings"))
    head = Module("lm_head", "other") if tied else _linear("lm_head", hidden, vocab)
    return Module("", children=(backbone, head, Module("loss", "other")))


def backbone(tree: Module) -> Module:
    """The part LoRA is applied to (``LoraModel.add_adapter`` replaces ``base_model.model``)."""
    return next(child for child in tree.children if child.name == "model")


def walk(module: Module, prefix: str = ""):
    """Every cell under ``module`` with its full dotted path, depth first."""
    for child in module.children:
        path = f"{prefix}{child.name}"
        yield path, child
        yield from walk(child, path + ".")


def match_targets(scope: Module, pattern: str, prefix: str = "model.") -> tuple[list, list]:
    """(LoRA'd linears, matched cells skipped for not being linear), each as (path, module)."""
    compiled = re.compile(pattern)
    replaced: list[tuple[str, Module]] = []
    skipped: list[tuple[str, Module]] = []

    def visit(module: Module, path_prefix: str) -> None:
        for child in module.children:
            path = f"{path_prefix}{child.name}"
            if compiled.match(child.name):
                (replaced if child.kind == "linear" else skipped).append((path, child))
            else:
                visit(child, path + ".")

    visit(scope, prefix)
    return replaced, skipped


def linear_names(scope: Module) -> list[str]:
    """The distinct local names of the Linear cells LoRA could target, in model order."""
    names: list[str] = []
    for _, module in walk(scope):
        if module.kind == "linear" and module.name not in names:
            names.append(module.name)
    return names


@dataclass(frozen=True)
class LoraCount:
    model: str
    rank: int
    alpha: float
    targets: str
    trainable: int
    total: int  # the denominator of the ratio: the contest's where it has one
    total_from_shapes: int
    modules: tuple[str, ...] = field(default=())
    shapes: tuple[tuple[str, int, int], ...] = field(default=())  # (local name, in, out) per kind

    @property
    def ratio(self) -> float:
        return self.trainable / self.total

    @property
    def ratio_from_shapes(self) -> float:
        return self.trainable / self.total_from_shapes

    def score(self, accuracy: float) -> float:
        return contest_score(self.ratio, accuracy)

    def as_dict(self, accuracies=DEFAULT_ACCURACIES) -> dict:
        return {
            "model": self.model,
            "rank": self.rank,
            "alpha": self.alpha,
            "targets": self.targets,
            "trainable": self.trainable,
            "total": self.total,
            "ratio": self.ratio,
            "total_from_shapes": self.total_from_shapes,
            "ratio_from_shapes": self.ratio_from_shapes,
            "lora_modules": len(self.modules),
            "module_shapes": [{"name": n, "in": i, "out": o} for n, i, o in self.shapes],
            "scores": {f"{a:g}": self.score(a) for a in accuracies},
        }


def contest_score(ratio: float, accuracy: float) -> float:
    """(1 − ratio) × 0.3 + accuracy × 0.7 (REFERENCE §1); both as fractions."""
    return (1.0 - ratio) * CONTEST_WEIGHTS[0] + accuracy * CONTEST_WEIGHTS[1]


def count_lora(preset: Preset, rank: int, targets: str, alpha: float | None = None) -> LoraCount:
    """LoRA's trainable count for ``preset``, ``targets`` at ``rank``; TargetError if none match."""
    if rank <= 0:
        raise TargetError(f"--rank must be positive, got {rank}")
    try:
        re.compile(targets)
    except re.error as exc:
        raise TargetError(f"--targets {targets!r} is not a valid regular expression ({exc})") from None
    tree = llama_tree(preset)
    scope = backbone(tree)
    replaced, skipped = match_targets(scope, targets)
    if not replaced:
        names = ", ".join(linear_names(scope))
        extra = ""
        if skipped:
            what = sorted({m.name for _, m in skipped})
            verb = "is not a Linear layer" if len(what) == 1 else "are not Linear layers"
            extra = f"; it matches {', '.join(what)}, which {verb} and MindFormers does not search inside"
        raise TargetError(
            f"--targets {targets!r} matches no Linear module of {preset.name}{extra}. MindFormers matches "
            f"each module's own name with re.match; the Linear names are: {names} "
            f"(e.g. model.layers.0.attention.wq is matched as 'wq')"
        )
    trainable = sum(rank * (m.in_features + m.out_features) for _, m in replaced)
    shapes: list[tuple[str, int, int]] = []
    for _, module in replaced:
        entry = (module.name, module.in_features, module.out_features)
        if entry not in shapes:
            shapes.append(entry)
    total_from_shapes = tree.params
    total = int(preset.contest_total_params or total_from_shapes)
    return LoraCount(
        model=preset.name,
        rank=rank,
        alpha=alpha if alpha is not None else preset.lora.alpha,
        targets=targets,
        trainable=trainable,
        total=total,
        total_from_shapes=total_from_shapes,
        modules=tuple(path for path, _ in replaced),
        shapes=tuple(shapes),
    )
