"""Runtime changes to the set of external MCP servers: add, remove, replace and refresh one.

Each change is all or nothing: a server that cannot start is rolled back (a replaced one gets its
previous configuration back), and the servers file is written only once the change took effect.
`UpstreamManager` (manager.py) has these methods; they share its connections, catalog and lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from magictunnel.config.errors import ConfigError
from magictunnel.upstream.config import ServersConfig, ServerSpec
from magictunnel.upstream.connection import State, UpstreamConnection
from magictunnel.upstream.naming import source_name

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway
    from magictunnel.upstream.forwarding import Forwarder
    from magictunnel.upstream.persist import ServersFile


class RuntimeChanges:
    # provided by UpstreamManager
    gateway: Gateway
    connections: dict[str, UpstreamConnection]
    config: ServersConfig
    forwarder: Forwarder
    drift: dict[str, dict[str, Any]]
    conflicts: dict[str, list[str]]
    filtered: dict[str, list[str]]
    listings: dict[str, dict[str, Any]]
    _tg: anyio.abc.TaskGroup | None
    _lock: anyio.Lock

    if TYPE_CHECKING:

        @property
        def servers_file(self) -> ServersFile: ...

        def _new_connection(self, spec: ServerSpec) -> UpstreamConnection: ...

        def server_status(self, name: str) -> dict[str, Any]: ...

        async def on_ready(self, conn: UpstreamConnection) -> None: ...

    async def _launch(self, spec: ServerSpec, wait: float) -> UpstreamConnection:
        conn = self._new_connection(spec)
        self.connections[spec.name] = conn
        if spec.enabled:
            if self._tg is None:
                raise RuntimeError("external MCP servers are not running (external_mcp.enabled is false?)")
            self._tg.start_soon(conn.run)
            await conn.wait_settled(wait)  # a first attempt that fails is reported at once
        return conn

    async def _drop(self, name: str) -> None:
        conn = self.connections.pop(name, None)
        if conn is not None:
            await conn.stop()
        self.gateway.catalog.remove_source(source_name(name))
        self.listings.pop(name, None)
        self.conflicts.pop(name, None)
        self.filtered.pop(name, None)

    async def add_server(
        self,
        spec: ServerSpec,
        *,
        persist: bool = True,
        wait: float | None = None,
        entry: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Connect a new server; on success persist it, on failure roll everything back."""
        async with self._lock:
            if spec.name in self.connections:
                raise ConfigError([f"server {spec.name}: already exists"])
            conn = await self._launch(spec, wait if wait is not None else spec.startup_timeout)
            if spec.enabled and not conn.ready:
                error = conn.error or f"not ready within {spec.startup_timeout:g}s"
                await self._drop(spec.name)
                raise ConfigError([f"server {spec.name}: could not start: {error}"])
            if persist:
                try:
                    self.servers_file.upsert(spec, entry)
                except Exception:
                    await self._drop(spec.name)
                    raise
            self.config.servers[spec.name] = spec
            self.config.origins[spec.name] = str(self.servers_file.path) if persist else "runtime"
            return self.server_status(spec.name)

    async def remove_server(self, name: str, *, persist: bool = True) -> None:
        async with self._lock:
            if name not in self.connections:
                raise KeyError(name)
            if persist and self.config.origins.get(name) == "external_mcp.servers":
                raise ConfigError(
                    [
                        f"server {name}: defined inline in the main config "
                        "(external_mcp.servers); remove it there"
                    ]
                )
            if persist:
                self.servers_file.remove(name)
            await self._drop(name)
            self.config.servers.pop(name, None)
            self.config.origins.pop(name, None)
            self.drift.pop(name, None)
            self.forwarder.subscriptions = {u: s for u, s in self.forwarder.subscriptions.items() if s}

    async def update_server(
        self, spec: ServerSpec, *, persist: bool = True, entry: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Replace a server's config; if the new one cannot start, the old one is restored."""
        async with self._lock:
            old = self.connections.get(spec.name)
            if old is None:
                raise KeyError(spec.name)
            if persist and self.config.origins.get(spec.name) == "external_mcp.servers":
                raise ConfigError(
                    [
                        f"server {spec.name}: defined inline in the main config "
                        "(external_mcp.servers); change it there"
                    ]
                )
            old_spec = old.spec
            await self._drop(spec.name)
            conn = await self._launch(spec, spec.startup_timeout)
            if spec.enabled and not conn.ready:
                error = conn.error or f"not ready within {spec.startup_timeout:g}s"
                await self._drop(spec.name)
                await self._launch(old_spec, old_spec.startup_timeout)
                raise ConfigError(
                    [
                        f"server {spec.name}: new configuration could not start: {error}; "
                        "previous configuration restored"
                    ]
                )
            if persist:
                try:
                    self.servers_file.upsert(spec, entry)
                except Exception:
                    await self._drop(spec.name)
                    await self._launch(old_spec, old_spec.startup_timeout)
                    raise
            self.config.servers[spec.name] = spec
            return self.server_status(spec.name)

    async def refresh(self, name: str) -> dict[str, Any]:
        conn = self.connections.get(name)
        if conn is None:
            raise KeyError(name)
        if conn.ready:
            await conn.refresh_lists()
            await self.on_ready(conn)
        elif conn.state in (State.FAILED, State.RESTARTING):
            conn.restarts = 0
            conn.wake()
            await conn.wait_settled(conn.spec.startup_timeout)
        return self.server_status(name)

    async def refresh_all(self) -> dict[str, Any]:
        out: dict[str, Any] = {}

        async def one(name: str) -> None:
            try:
                out[name] = {"ok": True, **(await self.refresh(name))}
            except Exception as exc:
                out[name] = {"ok": False, "error": str(exc)}

        async with anyio.create_task_group() as tg:
            for name in list(self.connections):
                tg.start_soon(one, name)
        return out
