"""The MiniLM encoder's forward pass on ONNX Runtime, for one request at a time (the helper's).

For one short request numpy is slow (each product re-reads its weights in a layout made for big
batches) and PyTorch's eager kernels pay a dispatch on each of ~150 small operations. ONNX Runtime
runs the whole pass as one call: its graph is built here from the same weights the numpy encoder
reads (no model file, no export step), with ONNX Runtime's fused BERT operators for the attention
and for GELU with its bias (its fused layer norm with the residual was slower here, so that one is
written out), and its products keep their weights packed for the CPU once, at load.

Two graphs exist, and which one serves is decided at load by agreement, not by timing, so it is
the same from one start to the next on the same CPU:
- "int8": 8-bit weights (one scale per output column) against each request's activations
  quantised per product (`DynamicQuantizeMatMul`, VNNI where the CPU has it), each product's
  activation range first smoothed into its weights (calibration.py). It must reproduce the float32
  vector of a probe sentence at cosine ≥ `INT8_AGREEMENT`; on an AMD EPYC with AVX-512 VNNI it
  takes 1.35 ms a request against 2.7 ms for PyTorch's fastest kernels, with the same vectors
  (cosine 0.998 to float32 on average over the development requests, 0.992 at worst).
- "float32": the exact computation (cosine 1.0 to numpy), served when the 8-bit one disagrees,
  for example on a CPU whose 8-bit instructions saturate.
Tool texts keep using the numpy path, whose vectors are the ones cached.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from magictunnel.discovery.onnx_graph import F32, INT64, MS, Graph, product, session, unit

log = logging.getLogger("magictunnel.discovery")

INT8_AGREEMENT = 0.995  # the 8-bit graph's vector of the probe against float32's, at least
PROBE_IDS = [101, 2424, 1996, 4633, 1999, 3000, 1998, 4604, 2009, 2000, 2033, 102]  # a short sentence
QKV, OUT, INNER, FFN_OUT = (
    "attention.self.qkv",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


def activation_ranges(bert: Any, id_lists: list[list[int]]) -> dict[str, np.ndarray]:
    """Per dense product of the numpy encoder `bert` (minilm._Bert), the largest |input| of each
    channel over the token id lists (each encoded alone, so no padding is measured)."""
    ranges: dict[str, np.ndarray] = {}
    dense = bert._dense

    def watching(x: np.ndarray, name: str) -> np.ndarray:
        seen = np.abs(x).reshape(-1, x.shape[-1]).max(axis=0)
        ranges[name] = np.maximum(ranges[name], seen) if name in ranges else seen
        return dense(x, name)

    bert._dense = watching
    try:
        for ids in id_lists:
            bert.encode_ids([ids])
    finally:
        del bert._dense  # the class's method again
    return ranges


def build_model(
    w: dict[str, np.ndarray],
    layers: int,
    heads: int,
    hidden: int,
    eps: float,
    ranges: dict[str, np.ndarray] | None = None,
) -> bytes:
    """The serialized ONNX model of the encoder with weights `w` (minilm._Bert's: dense weights as
    (in, out), query/key/value fused as `qkv`): token ids (1, n) in, the mean of the last layer's
    token vectors (1, hidden) out. With `ranges` (`activation_ranges`), the 8-bit graph."""
    g = Graph()

    def dense(x: str, name: str, tag: str, bias: bool = True) -> str:
        """x @ W (+ its bias, unless a fused operator after it adds that)."""
        b = w[f"{name}.bias"] if bias else None
        return product(g, x, w[f"{name}.weight"], b, None if ranges is None else ranges[name], tag)

    def add_norm(x: str, residual: str, name: str, bias: str, tag: str) -> str:
        gamma = g.weight(f"{tag}.gamma", w[f"{name}.weight"].astype(F32))
        beta = g.weight(f"{tag}.beta", w[f"{name}.bias"].astype(F32))
        # written as two additions and a layer norm: ONNX Runtime's fused SkipLayerNormalization
        # takes longer here (1.60 against 1.33 ms a request for the whole 8-bit graph, 15 tokens)
        x = g.op("Add", [g.op("Add", [x, bias], f"{tag}.biased"), residual], f"{tag}.sum")
        return g.op("LayerNormalization", [x, gamma, beta], tag, axis=-1, epsilon=eps)

    g.weight("zero", np.array([0], np.int64))
    g.weight("qkv.sizes", np.array([hidden] * 3, np.int64))
    words = g.op(
        "Gather", [g.weight("words", w["embeddings.word_embeddings.weight"].astype(F32)), "ids"], "e.w"
    )
    n = g.op("Shape", ["ids"], "e.n", start=1, end=2)
    places = g.op(
        "Slice",
        [g.weight("places", w["embeddings.position_embeddings.weight"].astype(F32)), "zero", n],
        "e.p",
    )
    x = g.op("Add", [words, places], "e.wp")
    x = g.op(
        "Add", [x, g.weight("segment", w["embeddings.token_type_embeddings.weight"][0].astype(F32))], "e.s"
    )
    gamma = g.weight("e.gamma", w["embeddings.LayerNorm.weight"].astype(F32))
    beta = g.weight("e.beta", w["embeddings.LayerNorm.bias"].astype(F32))
    x = g.op("LayerNormalization", [x, gamma, beta], "e", axis=-1, epsilon=eps)
    for i in range(layers):
        p, t = f"encoder.layer.{i}.", f"l{i}"
        if ranges is None:  # one fused operator: the query/key/value product and the attention
            qkv = [g.weight(f"{t}.qkv.w", w[f"{p}{QKV}.weight"]), g.weight(f"{t}.qkv.b", w[f"{p}{QKV}.bias"])]
            context = g.op("Attention", [x, *qkv], f"{t}.context", domain=MS, num_heads=heads)
        else:  # the product in 8 bits, then the attention on its three parts
            qkv_out = dense(x, f"{p}{QKV}", f"{t}.qkv")
            parts = [f"{t}.q", f"{t}.k", f"{t}.v"]
            g.ops("Split", [qkv_out, "qkv.sizes"], parts, axis=2)
            context = g.op("MultiHeadAttention", parts, f"{t}.context", domain=MS, num_heads=heads)
        out_bias = g.weight(f"{t}.out.bias", w[f"{p}{OUT}.bias"].astype(F32))
        attended = add_norm(
            dense(context, f"{p}{OUT}", f"{t}.out", bias=False),
            x,
            f"{p}attention.output.LayerNorm",
            out_bias,
            f"{t}.norm1",
        )
        inner_bias = g.weight(f"{t}.inner.bias", w[f"{p}{INNER}.bias"].astype(F32))
        inner = g.op(
            "FastGelu",
            [dense(attended, f"{p}{INNER}", f"{t}.inner", bias=False), inner_bias],
            f"{t}.gelu",
            domain=MS,
        )
        ffn_bias = g.weight(f"{t}.ffn.bias", w[f"{p}{FFN_OUT}.bias"].astype(F32))
        x = add_norm(
            dense(inner, f"{p}{FFN_OUT}", f"{t}.ffn", bias=False),
            attended,
            f"{p}output.LayerNorm",
            ffn_bias,
            f"{t}.norm2",
        )
    g.op("ReduceMean", [x], "pooled", axes=[1], keepdims=0)
    g.output("pooled", [1, hidden])
    return g.model("minilm", [("ids", INT64, [1, "tokens"])])


class OnnxBert:
    """Encodes one token id list to its unit, mean-pooled sentence vector on ONNX Runtime.
    `bert`: the numpy encoder (minilm._Bert), whose weights it reads and whose float32 vector of
    the probe it must reproduce; `calibration`: token id lists the 8-bit graph is calibrated on."""

    def __init__(self, bert: Any, calibration: list[list[int]]) -> None:
        shape = (bert.layers, bert.heads, bert.hidden, bert.eps)
        reference = bert.encode_ids([PROBE_IDS])[0]
        self.agreements: dict[str, float] = {}
        self.variant = "int8"
        self._session = session(build_model(bert.w, *shape, ranges=activation_ranges(bert, calibration)))
        self.agreements["int8"] = float(self.encode_ids(PROBE_IDS) @ reference)
        if self.agreements["int8"] < INT8_AGREEMENT:
            log.info(
                "MiniLM: 8-bit products agree at %.4f only; requests run in float32", self.agreements["int8"]
            )
            self.variant = "float32"
            self._session = session(build_model(bert.w, *shape))
            self.agreements["float32"] = float(self.encode_ids(PROBE_IDS) @ reference)

    def encode_ids(self, ids: list[int]) -> np.ndarray:
        return unit(self._session.run(None, {"ids": np.asarray([ids], dtype=np.int64)})[0][0])
