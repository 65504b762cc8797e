"""The discovery service inside the gateway: keeps the index in step with the catalog, publishes the
built-in discovery tools, decides tools/list visibility and which tools a client may be offered.

Published as `gateway.extensions["discovery"]`; the MCP server's tools/list asks
`advertises(tool)` of each tool (`visible_tools(identity)` lists them).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magictunnel.catalog.catalog import CatalogEvent, SourceSnapshot
from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.discovery.documents import ToolDoc, doc_from_tool
from magictunnel.discovery.embeddings import EmbedderUnavailable
from magictunnel.discovery.engine import DiscoveryEngine
from magictunnel.discovery.index import Hit
from magictunnel.discovery.minilm import MiniLmEmbedder
from magictunnel.pipeline.context import Identity

if TYPE_CHECKING:
    from magictunnel.config.models import SmartDiscoveryConfig
    from magictunnel.core.gateway import Gateway

log = logging.getLogger("magictunnel.discovery")

ROUTING_TYPE = "smart_discovery"
SOURCE_NAME = "builtin:discovery"
DISCOVER, SEARCH, CALL = "smart_tool_discovery", "search_tools", "call_tool"
TOOL_NAMES = (DISCOVER, SEARCH, CALL)


def data_dir_for(loaded: Any, base_dir: Path | None = None) -> Path:
    """Where the embedding cache lives: smart_discovery.cache_dir or <storage.data_dir>/discovery."""
    cfg = loaded.config
    base = base_dir or (loaded.path.parent if getattr(loaded, "path", None) else Path.cwd())
    chosen = (
        Path(cfg.smart_discovery.cache_dir)
        if cfg.smart_discovery.cache_dir
        else Path(cfg.storage.data_dir) / "discovery"
    )
    return chosen if chosen.is_absolute() else base / chosen


class DiscoveryService:
    def __init__(self, gateway: Gateway, engine: DiscoveryEngine | None = None) -> None:
        self.gateway = gateway
        self.config = gateway.config.smart_discovery
        self.engine = engine or DiscoveryEngine(
            cache_dir=data_dir_for(gateway.loaded, gateway.base_dir),
            results_ttl=self.config.results_cache_ttl,
            second_embedder=_second_embedder(self.config),
            third_embedder="auto" if self.config.second_stage and self.config.third_stage else None,
        )
        self._unsubscribe: Callable[[], None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._initial: asyncio.Task[None] | None = None
        self._summary = ""

    # ---- catalog -> index ----------------------------------------------------------------
    def callable_tools(self) -> list[ToolDef]:
        """Every enabled tool except the discovery tools themselves, hidden ones included."""
        tools: list[ToolDef] = []
        for name in list(self.gateway.catalog.tools):
            tool = self.gateway.resolve_tool(name)
            if tool is None or not tool.enabled or tool.routing.type == ROUTING_TYPE:
                continue
            tools.append(tool)
        return tools

    def docs(self) -> list[ToolDoc]:
        return [doc_from_tool(t) for t in self.callable_tools()]

    async def start(self) -> DiscoveryService:
        """Subscribe to catalog changes and build the first index in the background.

        The gateway does not wait for the model to load: discovery calls made before the first
        index is ready wait for it (`ready()`), everything else is served at once.
        """
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self.publish_tools()
        self._unsubscribe = self.gateway.catalog.subscribe(self._on_change)
        self._initial = loop.create_task(self._first_build())
        return self

    async def _first_build(self) -> None:
        assert self._ready is not None
        try:
            # ready once an index with stage two serves; stage three joins when its model has
            # embedded the catalog (engine.build swaps it in)
            build = asyncio.ensure_future(asyncio.to_thread(self.engine.build, self.docs()))
            while not build.done() and not self.engine.servable.is_set():
                await asyncio.sleep(0.02)
            if not self._ready.done():
                self._ready.set_result(None)
            await build
            engine = self.engine
            for embedder in (engine.embedder, engine.second_embedder, engine.third_embedder):
                warm = getattr(embedder, "warm", None)
                if warm is None:
                    continue
                try:  # load the model now rather than on the first request
                    await asyncio.to_thread(warm)
                except EmbedderUnavailable as exc:  # that stage stays out; the others serve
                    log.warning("smart discovery: %s", exc)
        except Exception as exc:
            self.engine.last_error = f"{type(exc).__name__}: {exc}"
            log.error("smart discovery could not build its index: %s", self.engine.last_error)
        finally:
            if not self._ready.done():
                self._ready.set_result(None)

    async def stop(self) -> None:
        if self._initial is not None and not self._initial.done():
            self._initial.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def ready(self) -> None:
        if self._ready is not None:
            await self._ready
        await self.engine.wait_idle()

    def _on_change(self, event: CatalogEvent) -> None:
        if not event.tools_changed or set(event.sources) <= {SOURCE_NAME}:
            return
        self.engine.invalidate_results()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a change made outside the event loop (start-up code, scripts)
            self.engine.build(self.docs())
            self.publish_tools()
            return
        self.engine.rebuild_soon(self.docs)
        loop.call_soon(self.publish_tools)

    # ---- the built-in tools --------------------------------------------------------------
    def catalog_summary(self) -> str:
        tools = self.callable_tools()
        if not tools:
            return "The catalog is empty right now."
        groups = Counter(_group_of(t) for t in tools)
        top = [f"{name} ({count})" for name, count in groups.most_common(12)]
        more = len(groups) - len(top)
        sources = "source" if len(groups) == 1 else "sources"
        examples = ", ".join(t.name for t in tools[:8])
        return (
            f"The catalog holds {len(tools)} tools from {len(groups)} {sources}: {', '.join(top)}"
            + (f" and {more} more" if more > 0 else "")
            + f"; for example {examples}."
        )

    def publish_tools(self) -> None:
        from magictunnel.discovery.tooldefs import builtin_tools

        summary = self.catalog_summary()
        if summary == self._summary and self.gateway.catalog.source(SOURCE_NAME) is not None:
            return
        self._summary = summary
        self.gateway.catalog.set_source(
            SourceSnapshot(
                name=SOURCE_NAME,
                tools=builtin_tools(
                    summary, self.config.default_confidence_threshold, Routing(type=ROUTING_TYPE)
                ),
                priority=0,
            )
        )

    # ---- who sees what -------------------------------------------------------------------
    def can_call(self, identity: Identity, tool: ToolDef) -> bool:
        rbac = self.gateway.extensions.get("rbac")
        return rbac is None or bool(rbac.can_call(identity, tool))

    def allowed_keys(self, identity: Identity) -> frozenset[str] | None:
        """Index keys the identity may call; None when no access control is installed.

        Asked afresh on every search (no caching), so a permission change applies to the next request.
        """
        rbac = self.gateway.extensions.get("rbac")
        if rbac is None:
            return None
        tools = self.gateway.catalog.tools
        return frozenset(
            key
            for key in self.engine.index.by_key
            if (t := tools.get(key)) is not None and rbac.can_call(identity, t)
        )

    def visible_tools(self, identity: Identity) -> list[ToolDef]:
        """What tools/list shows (before RBAC), in catalog order."""
        resolved = (self.gateway.resolve_tool(name) for name in self.gateway.catalog.tools)
        return [t for t in resolved if t is not None and self.advertises(t)]

    def advertises(self, tool: ToolDef) -> bool:
        """Whether tools/list shows `tool` (as resolved by the gateway): every enabled tool that is
        not hidden, or with `expose: discovery_only` only the discovery tools and the pinned ones."""
        vis = self.gateway.config.visibility
        if vis.expose != "discovery_only":
            return tool.enabled and not tool.hidden
        return tool.enabled and (tool.name in vis.always_visible or tool.name in TOOL_NAMES)

    def status(self) -> dict[str, Any]:
        """For /api/status: the index, and how stage two runs ("helper": every request, its model
        in the helper process; "cascade": unsure requests only, in the gateway; "off")."""
        engine, second = self.engine, self.engine.second_embedder
        helper = getattr(second, "helper", None)
        out: dict[str, Any] = {
            "index_version": engine.index.version,
            "indexed_tools": len(engine.index),
            "builds": engine.builds,
            "last_error": engine.last_error,
            "second_stage": "off"
            if second is None
            else "helper"
            if getattr(second, "fast_requests", False)
            else "cascade",
        }
        if helper is not None:
            out["helper"] = _helper_status(helper)
        third = engine.third_embedder
        out["third_stage"] = (
            "off"
            if third is None
            else "ready"
            if engine.index.dense.third is not None
            else "unavailable"
            if third.helper.state == "failed"
            else "building"
        )
        if third is not None:
            out["third_helper"] = _helper_status(third.helper)
        return out

    def search(self, query: str, identity: Identity, top_k: int) -> list[Hit]:
        return self.engine.search(query, top_k=top_k, allowed=self.allowed_keys(identity))

    async def search_async(self, query: str, identity: Identity, top_k: int) -> list[Hit]:
        """`search` on a worker thread: ranking waits milliseconds for the helper processes (tens
        when stage three runs), which must not hold up the event loop's other traffic."""
        return await asyncio.to_thread(self.search, query, identity, top_k)


def _group_of(tool: ToolDef) -> str:
    """How the catalog summary groups a tool: its server, category or capability file."""
    if tool.server or tool.category:
        return str(tool.server or tool.category)
    kind, _, where = tool.source.partition(":")
    return Path(where).stem if kind == "file" and where else kind


def _helper_status(helper: Any) -> dict[str, Any]:
    return {"state": helper.state, "pid": helper.pid, "kernels": helper.detail, "failures": helper.failures}


def _second_embedder(config: SmartDiscoveryConfig) -> MiniLmEmbedder | None:
    if not config.second_stage or not MiniLmEmbedder.available():
        return None
    return MiniLmEmbedder(helper_process=config.second_stage_helper)
