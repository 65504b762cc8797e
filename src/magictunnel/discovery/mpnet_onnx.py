"""all-mpnet-base-v2's forward pass on ONNX Runtime, one text at a time (the third model's helper).

MPNet is a 12-layer, 768-wide BERT-like encoder with T5-style relative position buckets added to
every attention score; sentence-transformers mean-pools its last layer. A request is a handful of
tokens, and for those the time goes into reading the weights (340 MB in float32, 85 MB in 8 bits),
so the dense products run in 8 bits: each product's activation range is first smoothed into its
weights (SmoothQuant, calibration.py; without it MPNet's 8-bit vectors agree with float32 at cosine
0.61, with it at 0.99), measured at load on the calibration texts by `Reference`, the float32 pass
in numpy. The graph is built at load from the package's weights, as the MiniLM helper's is
(onnx_graph.py): the query, key and value products fused into one, ONNX Runtime's fused attention
with the position bias, and `DynamicQuantizeMatMul` for the products, which ONNX Runtime runs on
the CPU's 8-bit instructions (VNNI, or AMX's tiles). Here (Intel Xeon with AMX) a request of 16
tokens takes about 8 ms, against 17 ms on PyTorch's 8-bit products.

The token and position embeddings are looked up in numpy from the memory-mapped model file, so the
graph holds only the 8-bit weights; the float32 weights' pages are dropped once the graph is built.
The variant is chosen at load by agreement, never by timing: 8-bit when it reproduces float32's
vectors of two calibration texts at cosine `INT8_AGREEMENT` or more, else the float32 graph. Every
text (tool descriptions at index build and requests) is encoded by the same variant.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import mmap
from pathlib import Path

import numpy as np

from magictunnel.discovery.calibration import CALIBRATION
from magictunnel.discovery.onnx_graph import F32, FLOAT, MS, Graph, layer_norm, product, session, unit

log = logging.getLogger("magictunnel.discovery")

MAX_TOKENS = 256
BUCKETS = 32
MAX_DISTANCE = 128
INT8_AGREEMENT = 0.99
QKV, OUT, INNER, FFN_OUT = ("attention.attn.qkv", "attention.attn.o", "intermediate.dense", "output.dense")
# ONNX Runtime's fused residual and layer norm takes 77 us here for 16 tokens, against 20 us
# for the addition and the layer norm apart (1.5 ms a request)
UNFUSED = ("SkipLayerNormFusion",)


def mapped_arrays(path: Path) -> tuple[np.memmap, dict[str, np.ndarray]]:
    """A safetensors file's float32 tensors as read-only views of one memory map."""
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r")
    arrays = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in ("F32", "I64"):
            raise ValueError(f"{path.name}: {name} is {info['dtype']}, expected F32 or I64")
        start, end = (8 + size + int(o) for o in info["data_offsets"])
        dtype = np.float32 if info["dtype"] == "F32" else np.int64
        arrays[name] = data[start:end].view(dtype).reshape(info["shape"])
    return data, arrays


def relative_buckets(n: int) -> np.ndarray:
    """(n, n) bucket of each key position relative to each query position (bidirectional, as
    MPNet's `relative_position_bucket`)."""
    position = np.arange(n)
    relative = position[None, :] - position[:, None]
    half = BUCKETS // 2
    ret = (relative > 0).astype(np.int64) * half
    distance = np.abs(relative)
    exact = half // 2
    with np.errstate(divide="ignore"):
        scaled = np.log(np.maximum(distance, 1).astype(np.float32) / exact) / math.log(MAX_DISTANCE / exact)
    large = np.minimum(exact + (scaled * (half - exact)).astype(np.int64), half - 1)
    return ret + np.where(distance < exact, distance, large)


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to within 1.5e-7 (Abramowitz and Stegun 7.1.26), for the exact GELU in numpy."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


class Weights:
    """The model's configuration, tokenizer and memory-mapped weights, with the dense products as
    (in, out) matrices (query, key and value side by side)."""

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-5))
        self._map, self.w = mapped_arrays(path / "model.safetensors")
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        table = self.w["encoder.relative_attention_bias.weight"]  # (BUCKETS, heads)
        self.bias = np.ascontiguousarray(table[relative_buckets(MAX_TOKENS)].transpose(2, 0, 1))

    def parts(self, layer: int, name: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """The product's (in, out) weight and bias, as views of the file: three for QKV."""
        p = f"encoder.layer.{layer}."
        names = [f"{p}attention.attn.{c}" for c in "qkv"] if name == QKV else [f"{p}{name}"]
        return [(self.w[f"{n}.weight"].T, self.w[f"{n}.bias"]) for n in names]

    def product(self, layer: int, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The product's (in, out) weight and bias, QKV's three side by side (a copy)."""
        parts = self.parts(layer, name)
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([wt for wt, _ in parts], axis=1), np.concatenate([b for _, b in parts])

    def embed(self, ids: list[int]) -> np.ndarray:
        """(1, n, hidden): each token's word embedding plus its position's (positions count from
        the padding index + 1, as RoBERTa's do)."""
        n = len(ids)
        x = self.w["embeddings.word_embeddings.weight"][np.asarray(ids, dtype=np.int64)]
        return (x + self.w["embeddings.position_embeddings.weight"][2 : n + 2])[None].astype(F32)

    def drop_pages(self) -> None:
        """Let the kernel drop the file's pages read so far (read back as requests need them)."""
        with contextlib.suppress(AttributeError, OSError, ValueError):
            self._map._mmap.madvise(mmap.MADV_DONTNEED)


class Reference:
    """The float32 forward pass in numpy: the vectors the 8-bit graph must reproduce, and the
    activation ranges it is smoothed with."""

    def __init__(self, weights: Weights) -> None:
        self.m = weights

    def encode_ids(self, ids: list[int], ranges: dict[str, np.ndarray] | None = None) -> np.ndarray:
        m, w = self.m, self.m.w
        n, h, d = len(ids), m.heads, m.hidden // m.heads

        def dense(x: np.ndarray, layer: int, name: str) -> np.ndarray:
            if ranges is not None:
                key = f"{layer}.{name}"
                seen = np.abs(x).max(axis=0)
                ranges[key] = np.maximum(ranges[key], seen) if key in ranges else seen
            return np.concatenate([x @ weight + bias for weight, bias in m.parts(layer, name)], axis=1)

        x = layer_norm(
            m.embed(ids)[0], w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], m.eps
        )
        bias = m.bias[:, :n, :n]
        for i in range(m.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (t.reshape(n, h, d).transpose(1, 0, 2) for t in np.split(dense(x, i, QKV), 3, axis=1))
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(d) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, m.hidden)
            norm1 = (w[f"{p}attention.LayerNorm.weight"], w[f"{p}attention.LayerNorm.bias"], m.eps)
            x = layer_norm(dense(context, i, OUT) + x, *norm1)
            inner = dense(x, i, INNER)
            inner = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)))
            norm2 = (w[f"{p}output.LayerNorm.weight"], w[f"{p}output.LayerNorm.bias"], m.eps)
            x = layer_norm(dense(inner, i, FFN_OUT) + x, *norm2)
        return unit(x.mean(axis=0))

    def activation_ranges(self, id_lists: list[list[int]]) -> dict[str, np.ndarray]:
        """Per dense product ("layer.name"), the largest |input| of each channel over the lists."""
        ranges: dict[str, np.ndarray] = {}
        for ids in id_lists:
            self.encode_ids(ids, ranges)
        return ranges


def build_model(m: Weights, ranges: dict[str, np.ndarray] | None = None) -> bytes:
    """The serialized ONNX model of the encoder: the request's embedded tokens (1, n, hidden) in
    (`Weights.embed`), the mean of the last layer's token vectors (1, hidden) out. With `ranges`
    (`Reference.activation_ranges`), the 8-bit graph."""
    g = Graph()
    w = m.w

    def dense(x: str, layer: int, name: str, tag: str, bias: bool = True) -> str:
        weight, b = m.product(layer, name)
        return product(
            g, x, weight, b if bias else None, None if ranges is None else ranges[f"{layer}.{name}"], tag
        )

    def norm(x: str, name: str, tag: str) -> str:
        gamma = g.weight(f"{tag}.gamma", np.asarray(w[f"{name}.weight"], F32))
        beta = g.weight(f"{tag}.beta", np.asarray(w[f"{name}.bias"], F32))
        return g.op("LayerNormalization", [x, gamma, beta], tag, axis=-1, epsilon=m.eps)

    g.weight("qkv.sizes", np.array([m.hidden] * 3, np.int64))
    g.weight("zero", np.array([0], np.int64))
    g.weight("rows", np.array([2], np.int64))
    g.weight("columns", np.array([3], np.int64))
    # the position bias of n tokens: the table's first n rows and columns
    n = g.op("Shape", ["tokens"], "n", start=1, end=2)
    table = g.weight("bias.table", m.bias[None])
    bias = g.op(
        "Slice", [g.op("Slice", [table, "zero", n, "rows"], "bias.rows"), "zero", n, "columns"], "bias"
    )
    x = norm("tokens", "embeddings.LayerNorm", "e")
    for i in range(m.layers):
        p, t = f"encoder.layer.{i}.", f"l{i}"
        parts = [f"{t}.q", f"{t}.k", f"{t}.v"]
        g.ops("Split", [dense(x, i, QKV, f"{t}.qkv"), "qkv.sizes"], parts, axis=2)
        context = g.op(
            "MultiHeadAttention", [*parts, "", "", bias], f"{t}.context", domain=MS, num_heads=m.heads
        )
        x = norm(
            g.op("Add", [dense(context, i, OUT, f"{t}.out"), x], f"{t}.sum1"),
            f"{p}attention.LayerNorm",
            f"{t}.n1",
        )
        inner_bias = g.weight(f"{t}.inner.bias", np.asarray(m.parts(i, INNER)[0][1], F32))
        inner = g.op(
            "BiasGelu", [dense(x, i, INNER, f"{t}.inner", bias=False), inner_bias], f"{t}.gelu", domain=MS
        )
        x = norm(
            g.op("Add", [dense(inner, i, FFN_OUT, f"{t}.ffn"), x], f"{t}.sum2"),
            f"{p}output.LayerNorm",
            f"{t}.n2",
        )
    g.op("ReduceMean", [x], "pooled", axes=[1], keepdims=0)
    g.output("pooled", [1, m.hidden])
    return g.model("mpnet", [("tokens", FLOAT, [1, "n", m.hidden])])


class OnnxMpnet:
    """Encodes one text to its unit, mean-pooled sentence vector; `variant` is "int8" or "float32"
    and `agreement` the 8-bit graph's worst cosine to float32 on the probe texts."""

    def __init__(self, path: Path) -> None:
        self.weights = m = Weights(path)
        self.tokenizer = m.tokenizer
        reference = Reference(m)
        calibration = [m.tokenizer.encode(text).ids for text in CALIBRATION]
        probe = calibration[:2]
        expected = [reference.encode_ids(ids) for ids in probe]
        self._session = session(build_model(m, reference.activation_ranges(calibration)), UNFUSED)
        self.variant = "int8"
        self.agreement = min(float(self.encode_ids(ids) @ e) for ids, e in zip(probe, expected, strict=True))
        if self.agreement < INT8_AGREEMENT:
            log.info("MPNet: 8-bit products agree at %.4f only; requests run in float32", self.agreement)
            self.variant = "float32"
            self._session = session(build_model(m), UNFUSED)
        m.drop_pages()  # the graph holds its own weights; embeddings are read back row by row
        log.debug("MPNet runs %s (8-bit agreement %.4f)", self.variant, self.agreement)

    def encode(self, text: str) -> np.ndarray:
        return self.encode_ids(self.tokenizer.encode(text).ids)

    def encode_ids(self, ids: list[int]) -> np.ndarray:
        return unit(self._session.run(None, {"tokens": self.weights.embed(ids)})[0][0])
