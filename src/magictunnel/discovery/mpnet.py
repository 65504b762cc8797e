"""The third dense model: sentence-transformers all-mpnet-base-v2, in a helper process.

A bigger model than the second (12 layers of 768 against MiniLM's 6 of 384), and a better reader:
held out (bench/discovery/fit.py), the stage that adds it ranks the right tool first and in the
top five more often. It costs about 8 ms per request on one core even in 8 bits on ONNX Runtime
(mpnet_onnx.py), so the ranking asks for it only when stage two is unsure (its best tool leads by
less than the model's `deep_below`, fitted so that about 40 % of the training requests qualify),
and only while the helper process is ready; otherwise stage two's ranking stands.

The helper embeds tool descriptions too (at index build, off the request path, one text at a
time; cached by content hash like the other models' vectors) and runs where the model packages
are installed (the default install has them). The engine serves with stages one and two while the
third model's vectors are computed, then swaps in the complete index.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np

from magictunnel.discovery import mpnet_files
from magictunnel.discovery.embeddings import EmbedderUnavailable, QueryVectorCache
from magictunnel.discovery.encoder_process import EncoderProcess, HelperUnavailable, helper_argv

REQUEST_TIMEOUT = 2.0  # seconds to wait for a request's vector before ranking without it
TEXT_TIMEOUT = 60.0  # ... and for a tool description's, at index build

log = logging.getLogger("magictunnel.discovery")

_HELPER: EncoderProcess | None = None
_HELPER_LOCK = threading.Lock()


def shared_helper() -> EncoderProcess:
    """The process's one MPNet helper (every engine of a process shares it)."""
    global _HELPER
    with _HELPER_LOCK:
        if _HELPER is None:
            _HELPER = EncoderProcess(
                helper_argv("magictunnel.discovery.mpnet_worker"), MpnetEmbedder.dim, "MPNet"
            )
        return _HELPER


class MpnetEmbedder(QueryVectorCache):
    # the vectors of its 8-bit graph on ONNX Runtime; the earlier PyTorch helper's cached vectors
    # round differently: not reused, and their file goes once this model's cache is written
    model_id = "all-mpnet-base-v2-ort"
    replaces = ("all-mpnet-base-v2",)
    dim = 768

    def __init__(self) -> None:
        super().__init__()
        self.helper = shared_helper()

    @staticmethod
    def available() -> bool:
        return importlib.util.find_spec("onnxruntime") is not None and mpnet_files.available()

    def _ready_helper(self) -> EncoderProcess:
        helper = self.helper
        if not helper.ready:
            helper.start(wait=True)
        if not helper.ready:
            raise EmbedderUnavailable(f"the MPNet helper process is unavailable: {helper.detail}")
        return helper

    def encode(self, texts: list[str]) -> np.ndarray:
        """Tool texts (index build): every text in flight at once, answered in order."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        helper = self._ready_helper()
        futures = [helper.submit(t) for t in texts]
        try:
            return np.stack([self._wait(f, TEXT_TIMEOUT) for f in futures])
        except (HelperUnavailable, FutureTimeout) as exc:
            raise EmbedderUnavailable(f"the MPNet helper process failed: {exc}") from None

    @staticmethod
    def _wait(future: object, timeout: float) -> np.ndarray:
        if future is None:
            raise HelperUnavailable("it stopped")
        return future.result(timeout=timeout)  # type: ignore[attr-defined]

    def query_vector(self, text: str) -> np.ndarray | None:
        """A request's vector, or None when the helper is not ready (it is started then, in the
        background) or fails: the ranking then keeps stage two's order."""
        wait = self.start_query(text)
        return wait() if wait is not None else None

    def start_query(self, text: str) -> Callable[[], np.ndarray | None] | None:
        """Send a request to the helper now and return how to wait for its vector (None when it
        fails: the ranking then keeps stage two's order), or None when the helper is not ready
        (then started in the background)."""
        return self.ask_helper(self.helper, text, REQUEST_TIMEOUT, lambda _text: None, "ranking without it")

    def encode_query(self, text: str) -> np.ndarray:
        vec = self.query_vector(text)
        if vec is None:
            vec = self.encode([text])[0]
            self.remember_query(text, vec)
        return vec

    def warm(self) -> None:
        self._ready_helper()

    def close(self) -> None:
        self.helper.close()
