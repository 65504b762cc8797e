"""All external MCP servers: parallel start, catalog publishing, health, runtime changes.

Servers start in parallel in a background task group; the gateway serves at once (last known
capabilities from the cache are published first) and each server's tools appear, with a
`list_changed` to clients, when it is ready. A health loop pings ready servers; a server
that stops answering is restarted by its supervisor with exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from mcp.shared.exceptions import MCPError

from magictunnel.upstream.cache import CapabilityCache, has_drift
from magictunnel.upstream.config import ServersConfig, ServerSpec, load_servers
from magictunnel.upstream.connection import Listener, State, UpstreamConnection
from magictunnel.upstream.forwarding import Forwarder
from magictunnel.upstream.naming import SOURCE_PRIORITY, STRATEGIES, build_snapshot, source_name
from magictunnel.upstream.persist import ServersFile
from magictunnel.upstream.runtime_changes import RuntimeChanges

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway

log = logging.getLogger("magictunnel.upstream")

HEALTH_FAILURES_BEFORE_RESTART = 2


class UpstreamManager(RuntimeChanges, Listener):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        ext = gateway.config.external_mcp
        self.settings = ext
        extra = ext.model_extra or {}
        self.strategy: str = ext.naming
        self.startup_wait = float(extra.get("startup_wait", 0) or 0)
        self.connections: dict[str, UpstreamConnection] = {}
        self.config = ServersConfig()
        self.forwarder = Forwarder(self)
        self.cache: CapabilityCache | None = None
        self.drift: dict[str, dict[str, Any]] = {}
        self.conflicts: dict[str, list[str]] = {}
        self.filtered: dict[str, list[str]] = {}
        self.versions: dict[str, int] = {}
        self.listings: dict[str, dict[str, Any]] = {}  # what each server's snapshot was built from
        self.from_cache: set[str] = set()
        self._health_failures: dict[str, int] = {}
        self._tg: anyio.abc.TaskGroup | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stopped = anyio.Event()
        self._started = anyio.Event()
        self._lock = anyio.Lock()
        extra_cache = extra.get("cache_path")
        data_dir = Path(gateway.config.storage.data_dir)
        if not data_dir.is_absolute():
            data_dir = gateway.base_dir / data_dir
        self.cache_path = Path(extra_cache) if extra_cache else data_dir / "upstream-capabilities.db"
        self.cache_enabled = bool(extra.get("cache", True))

    # ---- config --------------------------------------------------------------------------
    def load(self) -> ServersConfig:
        self.config = load_servers(self.settings.config_file, self.settings.servers, self.gateway.base_dir)
        return self.config

    @property
    def servers_file(self) -> ServersFile:
        path = self.config.file or (self.gateway.base_dir / "external-mcp-servers.yaml")
        return ServersFile(path, self.config.file_key)

    def strategy_for(self, spec: ServerSpec) -> str:
        strategy = spec.naming or self.strategy
        return strategy if strategy in STRATEGIES else "prefix"

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> UpstreamManager:
        if not self.settings.enabled:
            return self
        self.load()
        if self.cache_enabled:
            try:
                self.cache = CapabilityCache(self.cache_path)
            except Exception as exc:
                log.error("capability cache %s unavailable: %s", self.cache_path, exc)
        for spec in self.config.servers.values():
            self.connections[spec.name] = self._new_connection(spec)
            self._publish_cached(spec)
        self._runner = asyncio.create_task(self._run(), name="magictunnel-upstreams")
        await self._started.wait()
        for conn in self.connections.values():
            if conn.spec.enabled:
                self._tg.start_soon(conn.run)  # type: ignore[union-attr]
        if self.startup_wait > 0:
            with anyio.move_on_after(self.startup_wait):
                for conn in self.connections.values():
                    if conn.spec.enabled:  # not for one that cannot start (restart off, or gave up)
                        await conn.wait_started(self.startup_wait)
        return self

    def _new_connection(self, spec: ServerSpec) -> UpstreamConnection:
        conn = UpstreamConnection(
            spec,
            self,
            base_dir=str(self.gateway.base_dir),
            default_timeout=self.gateway.config.server.timeout,
        )
        conn.auth_provider = self._upstream_auth
        return conn

    def _upstream_auth(self, spec: ServerSpec) -> Any:
        """The upstream OAuth feature's auth for this server (None when it does not use OAuth)."""
        oauth = self.gateway.extensions.get("upstream_oauth")
        if oauth is None or not hasattr(oauth, "auth_if_configured"):
            return None
        try:
            return oauth.auth_if_configured(spec.name, spec.url)
        except Exception as exc:  # the vault is unavailable: connect without OAuth, say why
            log.warning(
                "upstream %s: OAuth settings unavailable (%s); connecting without OAuth", spec.name, exc
            )
            return None

    async def _run(self) -> None:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            self._started.set()
            tg.start_soon(self._health_loop)
            await self._stopped.wait()
            tg.cancel_scope.cancel()

    def spawn(self, fn: Any) -> None:
        """Run `fn()` in the manager's task group (outlives the request that started it)."""
        if self._tg is None:
            raise RuntimeError("external MCP servers are not running")
        self._tg.start_soon(fn)

    async def stop(self) -> None:
        conns = list(self.connections.values())
        async with anyio.create_task_group() as tg:
            for conn in conns:
                tg.start_soon(conn.stop)
        self._stopped.set()
        if self._runner is not None:
            with anyio.move_on_after(5):
                await self._runner
        if self.cache is not None:
            self.cache.close()
            self.cache = None

    # ---- catalog -------------------------------------------------------------------------
    def _taken(self, server: str) -> tuple[set[str], set[str]]:
        """Names other sources serve, in precedence order: local sources, then servers before this one."""
        catalog = self.gateway.catalog
        mine = source_name(server)
        order = list(self.connections)
        later = {source_name(n) for n in order[order.index(server) + 1 :]} if server in order else set()
        tools = {t.name for t in catalog.tools.values() if t.source != mine and t.source not in later}
        prompts = {p.name for p in catalog.prompts.values() if p.source != mine and p.source not in later}
        return tools, prompts

    def _publish(self, spec: ServerSpec, listing: dict[str, Any], *, cascade: bool = True) -> None:
        """Publish one server's snapshot. Servers take names in config order whatever order they
        connect in: the snapshot's priority follows the config order, and servers after this one
        are re-named against its names."""
        tools, prompts = self._taken(spec.name)
        built = build_snapshot(spec, listing, self.strategy_for(spec), tools, prompts)
        order = list(self.connections)
        position = order.index(spec.name) if spec.name in order else len(order)
        built.snapshot.priority = SOURCE_PRIORITY + position / 10_000  # type: ignore[assignment]
        self.listings[spec.name] = listing
        self.conflicts[spec.name] = built.conflicts
        self.filtered[spec.name] = built.filtered
        for message in built.conflicts:
            log.warning("naming: %s", message)
        self.gateway.catalog.set_source(built.snapshot)
        if cascade:
            for later in order[position + 1 :]:
                conn = self.connections.get(later)
                if conn is not None and later in self.listings:
                    self._publish(conn.spec, self.listings[later], cascade=False)

    def _publish_cached(self, spec: ServerSpec) -> None:
        if self.cache is None or not spec.enabled:
            return
        cached = self.cache.latest(spec.name)
        if cached is None:
            return
        self.from_cache.add(spec.name)
        self.versions[spec.name] = cached["version"]
        self._publish(spec, cached["listing"])
        log.info(
            "upstream %s: serving %d cached tools until it connects",
            spec.name,
            len(cached["listing"].get("tools") or []),
        )

    def _listing(self, conn: UpstreamConnection) -> dict[str, Any]:
        caps = conn.capabilities
        return {
            "tools": caps.tools,
            "prompts": caps.prompts,
            "resources": caps.resources,
            "resource_templates": caps.resource_templates,
        }

    def _record(self, conn: UpstreamConnection) -> None:
        if self.cache is None:
            return
        try:
            outcome = self.cache.record(conn.name, self._listing(conn), conn.protocol_version)
        except Exception as exc:
            log.error("capability cache write for %s failed: %s", conn.name, exc)
            return
        self.versions[conn.name] = outcome["version"]
        if outcome["changed"] and has_drift(outcome["drift"]):
            drift = dict(outcome["drift"])
            drift["detected_at"] = time.time()
            drift["version"] = outcome["version"]
            self.drift[conn.name] = drift
            log.warning(
                "upstream %s changed: added %s, removed %s, changed %s",
                conn.name,
                drift["added"],
                drift["removed"],
                [c["tool"] for c in drift["changed"]],
            )

    async def on_ready(self, conn: UpstreamConnection) -> None:
        self._health_failures.pop(conn.name, None)
        self.from_cache.discard(conn.name)
        self._record(conn)
        if self.connections.get(conn.name) is conn:
            self._publish(conn.spec, self._listing(conn))

    async def on_lists_changed(self, conn: UpstreamConnection) -> None:
        if not conn.ready:  # still starting: the listing in progress will see the change
            return
        try:
            await conn.refresh_lists()
        except MCPError as exc:
            log.warning("upstream %s: re-listing after list_changed failed: %s", conn.name, exc.error.message)
            return
        await self.on_ready(conn)

    async def on_resource_updated(self, conn: UpstreamConnection, uri: str) -> None:
        await self.forwarder.resource_updated(conn, uri)

    async def on_client_notification(
        self, conn: UpstreamConnection, handle: Any, method: str, params: dict[str, Any]
    ) -> None:
        """A notification for one client after its request ended (URL elicitation completed)."""
        sessions = self.gateway.extensions.get("sessions")
        key = getattr(handle, "key", None)
        if sessions is not None and key is not None and await sessions.notify_one(key, method, params):
            return
        try:
            await handle.notify(method, params)
        except Exception as exc:
            log.debug("upstream %s: %s not delivered: %s", conn.name, method, exc)

    async def on_down(self, conn: UpstreamConnection) -> None:
        # tools stay listed (last known); calls answer "not available" until it is back
        return None

    # ---- calls ---------------------------------------------------------------------------
    async def connection_for_call(self, server: str) -> UpstreamConnection:
        conn = self.connections.get(server)
        if conn is None:
            raise MCPError(-32003, f"MCP server {server} is not configured", {"server": server})
        if conn.ready:
            return conn
        if (
            conn.state in (State.STARTING, State.PENDING, State.RESTARTING)
            and conn.state is not State.DISABLED
        ):
            await conn.wait_ready(min(conn.spec.startup_timeout, 10.0))
            if conn.ready:
                return conn
        raise conn._unavailable()

    # ---- health --------------------------------------------------------------------------
    async def _health_loop(self) -> None:
        while True:
            await anyio.sleep(1.0)
            now = time.time()
            for conn in list(self.connections.values()):
                interval = conn.spec.health_interval
                if not interval or not conn.ready or conn._inflight:
                    continue
                if conn.last_ok is not None and now - conn.last_ok < interval:
                    continue
                self._tg.start_soon(self._check, conn)  # type: ignore[union-attr]

    async def _check(self, conn: UpstreamConnection) -> None:
        try:
            await conn.ping(timeout=min(10.0, conn.spec.health_interval or 10.0))
            self._health_failures.pop(conn.name, None)
        except Exception as exc:
            count = self._health_failures.get(conn.name, 0) + 1
            self._health_failures[conn.name] = count
            log.warning("upstream %s health check failed (%d): %s", conn.name, count, exc)
            if count >= HEALTH_FAILURES_BEFORE_RESTART:
                conn.error = f"health check failed {count} times: {exc}"
                self._health_failures.pop(conn.name, None)
                conn.connection_lost()

    async def health(self) -> dict[str, Any]:
        """Ping every ready server now."""
        out: dict[str, Any] = {}

        async def one(conn: UpstreamConnection) -> None:
            entry: dict[str, Any] = {"state": conn.state.value, "healthy": False}
            if conn.ready:
                try:
                    entry["latency_ms"] = round(await conn.ping(timeout=5.0), 2)
                    entry["healthy"] = True
                except Exception as exc:
                    entry["error"] = str(exc)
            else:
                entry["error"] = conn.error
            out[conn.name] = entry

        async with anyio.create_task_group() as tg:
            for conn in list(self.connections.values()):
                tg.start_soon(one, conn)
        return out

    # ---- status --------------------------------------------------------------------------
    def server_status(self, name: str) -> dict[str, Any]:
        conn = self.connections[name]
        out = conn.status()
        out["naming"] = self.strategy_for(conn.spec)
        out["origin"] = self.config.origins.get(name)
        out["served_tools"] = sorted(t.name for t in self.gateway.catalog.tools.values() if t.server == name)
        out["conflicts"] = self.conflicts.get(name, [])
        out["filtered_tools"] = self.filtered.get(name, [])
        out["capabilities_version"] = self.versions.get(name)
        out["listed_at"] = conn.capabilities.listed_at
        out["serving_cached"] = name in self.from_cache
        out["drift"] = self.drift.get(name)
        return out

    def status(self) -> dict[str, Any]:
        servers = [self.server_status(n) for n in self.connections]
        return {
            "enabled": self.settings.enabled,
            "naming": self.strategy,
            "config_file": str(self.config.file) if self.config.file else None,
            "servers": servers,
            "ready": sum(1 for s in servers if s["state"] == "ready"),
            "total": len(servers),
            "drift": {k: v for k, v in self.drift.items()},
        }

    def history(self, name: str) -> list[dict[str, Any]]:
        return self.cache.history(name) if self.cache is not None else []
