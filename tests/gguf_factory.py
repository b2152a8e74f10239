"""A tiny random Llama in a GGUF file, written with the gguf package the way llama.cpp's converter
writes one: Q and K rows permuted per head, the embedding and some matrices quantised (Q8_0), a
byte-level BPE vocabulary (ChatML control tokens first, the 256 byte symbols, a few merges)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CONTROL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("1", "2")]
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}"
)


def byte_symbols() -> list[str]:
    """GPT-2's printable stand-in for each byte, in byte order."""
    keep = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    )
    symbols, extra = {}, 0
    for byte in range(256):
        if byte in keep:
            symbols[byte] = chr(byte)
        else:
            symbols[byte] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


def tokens() -> list[str]:
    return CONTROL + byte_symbols() + ["".join(m) for m in MERGES]


@dataclass
class TinyLlama:
    path: Path
    layers: int = 2
    hidden: int = 64
    heads: int = 4
    kv_heads: int = 2
    ffn: int = 128
    weights: dict = field(default_factory=dict)  # MindFormers names -> the arrays written (half-split Q/K)

    @property
    def vocab(self) -> int:
        return len(tokens())


def write_tiny_llama(path: Path, *, architecture: str = "llama", seed: int = 0) -> TinyLlama:
    import gguf
    from datagen.train.gguf import permute

    model = TinyLlama(Path(path))
    rng = np.random.default_rng(seed)
    head_dim = model.hidden // model.heads

    def matrix(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * 0.05).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_name("tiny test llama")
    writer.add_block_count(model.layers)
    writer.add_context_length(512)
    writer.add_embedding_length(model.hidden)
    writer.add_feed_forward_length(model.ffn)
    writer.add_head_count(model.heads)
    writer.add_head_count_kv(model.kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(model.vocab)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens())
    writer.add_token_merges([" ".join(m) for m in MERGES])
    writer.add_token_types([3] * len(CONTROL) + [1] * (model.vocab - len(CONTROL)))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_pad_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHATML)

    def put(gguf_name: str, mf_name: str, array: np.ndarray, quantised: bool = False, heads: int = 0) -> None:
        stored = permute(array, heads) if heads else array
        if quantised:
            data = gguf.quants.quantize(stored, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(gguf_name, data, raw_shape=data.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            array = gguf.quants.dequantize(data, gguf.GGMLQuantizationType.Q8_0)
            array = (
                np.ascontiguousarray(array) if not heads else np.ascontiguousarray(_unpermute(array, heads))
            ).astype(np.float32)
        else:
            writer.add_tensor(gguf_name, stored)
        model.weights[mf_name] = array

    put("token_embd.weight", "model.tok_embeddings.embedding_weight", matrix(model.vocab, model.hidden), True)
    for n in range(model.layers):
        prefix = f"model.layers.{n}."
        put(f"blk.{n}.attn_norm.weight", prefix + "attention_norm.weight", np.ones(model.hidden, np.float32))
        put(f"blk.{n}.ffn_norm.weight", prefix + "ffn_norm.weight", np.ones(model.hidden, np.float32))
        put(
            f"blk.{n}.attn_q.weight",
            prefix + "attention.wq.weight",
            matrix(model.hidden, model.hidden),
            True,
            heads=model.heads,
        )
        put(
            f"blk.{n}.attn_k.weight",
            prefix + "attention.wk.weight",
            matrix(model.kv_heads * head_dim, model.hidden),
            heads=model.kv_heads,
        )
        put(
            f"blk.{n}.attn_v.weight",
            prefix + "attention.wv.weight",
            matrix(model.kv_heads * head_dim, model.hidden),
        )
        put(
            f"blk.{n}.attn_output.weight",
            prefix + "attention.wo.weight",
            matrix(model.hidden, model.hidden),
            True,
        )
        put(f"blk.{n}.ffn_gate.weight", prefix + "feed_forward.w1.weight", matrix(model.ffn, model.hidden))
        put(f"blk.{n}.ffn_down.weight", prefix + "feed_forward.w2.weight", matrix(model.hidden, model.ffn))
        put(f"blk.{n}.ffn_up.weight", prefix + "feed_forward.w3.weight", matrix(model.ffn, model.hidden))
    put("output_norm.weight", "model.norm_out.weight", np.ones(model.hidden, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return model


def _unpermute(array: np.ndarray, heads: int) -> np.ndarray:
    from datagen.train.gguf import unpermute

    return unpermute(array, heads)
