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
from magictunnel.discovery.embeddings import (
    Embedder,
    EmbedderUnavailable,
    EmbeddingCache,
    UseEmbedder,
    blas_single_thread,
)
from magictunnel.discovery.index import DiscoveryIndex, Hit, description_key
from magictunnel.discovery.minilm import MiniLmEmbedder
from magictunnel.discovery.mpnet import MpnetEmbedder
from magictunnel.discovery.reading import read_request

#: from this many tools, the second model encodes each request alongside stage one even when it
#: has no helper process (numpy, on a thread; with the helper it always does), and the third
#: model's helper starts on it at once too
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
        third_embedder: MpnetEmbedder | Literal["auto"] | None = "auto",
    ) -> None:
        """`second_embedder`, `third_embedder`: the models of the second and third ranking
        stages; "auto" uses all-MiniLM-L6-v2 and all-mpnet-base-v2 when their packages are
        installed and the first model is the default one."""
        if second_embedder == "auto":
            second_embedder = MiniLmEmbedder() if embedder is None and MiniLmEmbedder.available() else None
        if third_embedder == "auto":
            third_embedder = (
                MpnetEmbedder()
                if embedder is None and second_embedder is not None and MpnetEmbedder.available()
                else None
            )
        self.embedder: Embedder = embedder or UseEmbedder()
        self.cache = EmbeddingCache(self.embedder, cache_dir)
        self.second_embedder: Embedder | None = second_embedder
        self.second_cache = (
            EmbeddingCache(second_embedder, cache_dir) if second_embedder is not None else None
        )
        self.third_embedder = third_embedder
        self.third_cache = EmbeddingCache(third_embedder, cache_dir) if third_embedder is not None else None
        self.index: DiscoveryIndex = DiscoveryIndex.build([], self.cache)
        self.results_ttl = results_ttl
        self._results_max = results_max
        self._speculate = ThreadPoolExecutor(max_workers=1, thread_name_prefix="discovery-second")
        self._results: OrderedDict[tuple[object, ...], _Cached] = OrderedDict()
        self._results_lock = threading.Lock()
        self._build_lock = threading.Lock()
        self._pending: asyncio.Task[None] | None = None
        self._dirty = False
        self.builds = 0
        # set once an index with stage two (when there is one) has been swapped in
        self.servable = threading.Event()
        self.last_error: str | None = None

    # ---- building ------------------------------------------------------------------------
    def build(self, docs: list[ToolDoc]) -> DiscoveryIndex:
        """Build an index for `docs` and make it current (blocking; call from a worker thread).

        A later stage's model that has not seen some of these tools yet embeds them while the
        index without it serves (minutes for thousands of new tools): stage one first, then
        stages one and two, then all three."""
        with self._build_lock:
            start = time.perf_counter()
            keys = [description_key(d) for d in docs]
            caches: list[EmbeddingCache | None] = [self.second_cache, self.third_cache]
            computed = 0
            for stage, cache in enumerate(caches):
                if cache is None or cache.has_all(keys):
                    continue
                before = self._build_with(docs, caches[:stage] + [None] * (len(caches) - stage))
                self._swap(before)  # serves while this stage's model embeds what it has not seen
                computed += before.stats.computed if before.stats is not None else 0
                misses = cache.misses
                try:
                    cache.embed_keyed(keys, lambda i: docs[i].dense_text())
                except EmbedderUnavailable as exc:  # rank without this stage and those after it
                    log.warning("discovery: ranking without stage %d: %s", stage + 2, exc)
                    caches[stage:] = [None] * (len(caches) - stage)
                    break
                computed += cache.misses - misses
            index = self._build_with(docs, caches)
            if index.stats is not None:
                index.stats.computed += computed
                index.stats.seconds = time.perf_counter() - start
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

    def _third_query(self, index: DiscoveryIndex, query: str) -> Callable[[str], Any] | None:
        """How stage three gets the request's vector. In large catalogs most requests reach stage
        three (the more tools, the closer the best few), so its helper starts on the request at
        once, beside stages one and two, instead of after them."""
        third = self.third_embedder
        if third is None or index.dense.third is None or index.model.deep is None:
            return None
        if len(index) >= SPECULATE_FROM:
            wait = third.start_query(query)
            if wait is not None:
                return lambda _text: wait()
        return third.query_vector

    def _build_with(self, docs: list[ToolDoc], caches: list[EmbeddingCache | None]) -> DiscoveryIndex:
        second, third = caches
        return DiscoveryIndex.build(
            docs, self.cache, version=self.index.version + 1, second=second, third=third
        )

    def _swap(self, index: DiscoveryIndex) -> None:
        if self.second_cache is None or index.dense.second is not None or not index.docs:
            self.servable.set()
        self.index = index
        with self._results_lock:
            self._results.clear()
        self.builds += 1

    def invalidate_results(self) -> None:
        with self._results_lock:
            self._results.clear()

    def rebuild_soon(self, docs_fn: Callable[[], list[ToolDoc]], delay: float = 0.05) -> asyncio.Task[None]:
        """Schedule a rebuild from the event loop; events arriving meanwhile fold into one rebuild."""
        with self._results_lock:
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
        now = time.monotonic()
        with self._results_lock:  # searches run on worker threads (service.search_async)
            cached = self._results.get(key)
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
        english = read_request(query).english  # what the English-only later models read
        if second is not None and index.dense.second is not None and index.model.full is not None:
            start = getattr(second, "start_query", None)
            pending = start(english) if start is not None else None
            if pending is None and len(index) >= SPECULATE_FROM:
                future = self._speculate.submit(_query_vector, second, english)
                pending = future.result
        ahead = pending is not None
        if pending is not None:
            wait = pending
            second_query = lambda _text: wait()  # noqa: E731
        elif second is not None:
            second_query = lambda text: _query_vector(second, text)  # noqa: E731
        third_query = self._third_query(index, english)  # before stage one's own encoding
        with blas_single_thread():
            vector = _query_vector(self.embedder, query)
            hits = index.search(
                query,
                vector,
                top_k=top_k,
                allowed=set(allowed) if allowed is not None else None,
                second_query=second_query,
                second_always=ahead,
                third_query=third_query,
            )
        with self._results_lock:
            self._results[key] = _Cached(now, hits)
            if len(self._results) > self._results_max:
                self._results.popitem(last=False)
        return hits


def _query_vector(embedder: Embedder, query: str):
    encode_query = getattr(embedder, "encode_query", None)
    if encode_query is not None:
        return encode_query(query)
    return embedder.encode([query])[0]
