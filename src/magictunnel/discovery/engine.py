"""The discovery engine: the current index, rebuilt off the request path, plus a results cache.

- `build(docs)` builds a new index (embeddings come from the persistent content-hash cache,
  so only new or changed tools are embedded) and swaps it in atomically;
- `rebuild_soon(docs_fn)` is what catalog change events call: it coalesces bursts of events
  and rebuilds in a worker thread while queries keep using the previous index;
- `search(query, top_k, allowed)` never builds anything: it ranks against whatever index is current.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from magictunnel.discovery.documents import ToolDoc
from magictunnel.discovery.embeddings import Embedder, EmbeddingCache, UseEmbedder, blas_single_thread
from magictunnel.discovery.index import DiscoveryIndex, Hit, description_key
from magictunnel.discovery.minilm import MiniLmEmbedder

#: from this many tools, the second model encodes each request alongside stage one even when it
#: has no helper process (numpy, on a thread); with the helper it always does
SPECULATE_FROM = 2000

log = logging.getLogger("magictunnel.discovery")


@dataclass
class _Cached:
    at: float
    hits: list[Hit]


class DiscoveryEngine:
    def __init__(
        self,
        embedder: Embedder | None = None,
        cache_dir: Path | None = None,
        results_ttl: float = 300.0,
        results_max: int = 1024,
        second_embedder: Embedder | Literal["auto"] | None = "auto",
    ) -> None:
        """`second_embedder`: the model of the second ranking stage; "auto" uses all-MiniLM-L6-v2
        when its package is installed and the first model is the default one."""
        if second_embedder == "auto":
            second_embedder = MiniLmEmbedder() if embedder is None and MiniLmEmbedder.available() else None
        self.embedder: Embedder = embedder or UseEmbedder()
        self.cache = EmbeddingCache(self.embedder, cache_dir)
        self.second_embedder: Embedder | None = second_embedder
        self.second_cache = (
            EmbeddingCache(second_embedder, cache_dir) if second_embedder is not None else None
        )
        self.index: DiscoveryIndex = DiscoveryIndex.build([], self.cache)
        self.results_ttl = results_ttl
        self._results_max = results_max
        self._speculate = ThreadPoolExecutor(max_workers=1, thread_name_prefix="discovery-second")
        self._results: OrderedDict[tuple[object, ...], _Cached] = OrderedDict()
        self._build_lock = threading.Lock()
        self._pending: asyncio.Task[None] | None = None
        self._dirty = False
        self.builds = 0
        self.last_error: str | None = None

    # ---- building ------------------------------------------------------------------------
    def build(self, docs: list[ToolDoc]) -> DiscoveryIndex:
        """Build an index for `docs` and make it current (blocking; call from a worker thread)."""
        with self._build_lock:
            second = self.second_cache
            first: DiscoveryIndex | None = None
            if second is not None and not second.has_all(description_key(d) for d in docs):
                # Serve with stage one while the second model embeds what it has not seen yet
                # (minutes for thousands of new tools), then swap in the complete index.
                first = DiscoveryIndex.build(docs, self.cache, version=self.index.version + 1)
                self._swap(first)
            index = DiscoveryIndex.build(docs, self.cache, version=self.index.version + 1, second=second)
            if first is not None and first.stats is not None and index.stats is not None:
                index.stats.computed += first.stats.computed
                index.stats.seconds += first.stats.seconds
            self._swap(index)
        stats = index.stats
        if stats is not None:
            log.info(
                "discovery index v%d: %d tools, %d texts (%d embedded now) in %.2fs",
                index.version,
                stats.tools,
                stats.texts,
                stats.computed,
                stats.seconds,
            )
        return index

    def _swap(self, index: DiscoveryIndex) -> None:
        self.index = index
        self._results.clear()
        self.builds += 1

    def invalidate_results(self) -> None:
        self._results.clear()

    def rebuild_soon(self, docs_fn: Callable[[], list[ToolDoc]], delay: float = 0.05) -> asyncio.Task[None]:
        """Schedule a rebuild from the event loop; events arriving meanwhile fold into one rebuild."""
        self._results.clear()
        self._dirty = True
        if self._pending is not None and not self._pending.done():
            return self._pending
        self._pending = asyncio.get_running_loop().create_task(self._rebuild_loop(docs_fn, delay))
        return self._pending

    async def _rebuild_loop(self, docs_fn: Callable[[], list[ToolDoc]], delay: float) -> None:
        while self._dirty:
            self._dirty = False
            await asyncio.sleep(delay)
            docs = docs_fn()
            try:
                await asyncio.to_thread(self.build, docs)
                self.last_error = None
            except Exception as exc:  # keep serving the previous index
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error(
                    "discovery index rebuild failed, still serving v%d: %s",
                    self.index.version,
                    self.last_error,
                )

    async def wait_idle(self) -> None:
        while self._pending is not None and not self._pending.done():
            await asyncio.shield(self._pending)

    # ---- searching -----------------------------------------------------------------------
    def search(self, query: str, top_k: int = 10, allowed: frozenset[str] | None = None) -> list[Hit]:
        index = self.index
        key = (index.version, query, top_k, allowed)
        cached = self._results.get(key)
        now = time.monotonic()
        if cached is not None and now - cached.at <= self.results_ttl:
            self._results.move_to_end(key)
            return cached.hits
        second = self.second_embedder
        second_query: Callable[[str], Any] | None = None
        # The second model encodes the request meanwhile, and stage two then ranks: always when
        # its helper process runs (a core of its own, no GIL shared), and for large catalogs
        # (where stage one takes long and often asks for stage two) on a thread even without
        # it. Otherwise stage two runs only for requests stage one is unsure about.
        pending: Callable[[], Any] | None = None
        if second is not None and index.dense.second is not None and index.model.full is not None:
            start = getattr(second, "start_query", None)
            pending = start(query) if start is not None else None
            if pending is None and len(index) >= SPECULATE_FROM:
                future = self._speculate.submit(_query_vector, second, query)
                pending = future.result
        ahead = pending is not None
        if pending is not None:
            wait = pending
            second_query = lambda _text: wait()  # noqa: E731
        elif second is not None:
            second_query = lambda text: _query_vector(second, text)  # noqa: E731
        with blas_single_thread():
            vector = _query_vector(self.embedder, query)
            hits = index.search(
                query,
                vector,
                top_k=top_k,
                allowed=set(allowed) if allowed is not None else None,
                second_query=second_query,
                second_always=ahead,
            )
        self._results[key] = _Cached(now, hits)
        if len(self._results) > self._results_max:
            self._results.popitem(last=False)
        return hits


def _query_vector(embedder: Embedder, query: str):
    encode_query = getattr(embedder, "encode_query", None)
    if encode_query is not None:
        return encode_query(query)
    return embedder.encode([query])[0]
