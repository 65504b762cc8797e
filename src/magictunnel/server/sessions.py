"""Connected clients across all transports, for broadcasts (list_changed, resource updates).

Handshake-era connections are remembered (weakly) when they send their first request and
are notified on their standalone channel. 2026-07-28 clients listen with
`subscriptions/listen`; they are reached through the SDK's subscription bus.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler
from mcp.shared.subscriptions import (
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ToolsListChanged,
)

from magictunnel.catalog.catalog import CatalogEvent

log = logging.getLogger("magictunnel.sessions")


class SessionRegistry:
    def __init__(self) -> None:
        self._connections: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._log_levels: dict[int, str] = {}
        self.bus = InMemorySubscriptionBus()
        self.listen_handler = ListenHandler(self.bus)
        # per-connection info for status pages: key -> (transport, protocol version)
        self._info: dict[int, tuple[str, str]] = {}

    def remember(self, connection: Any, transport: str, protocol_version: str) -> None:
        if connection is None:
            return
        key = id(connection)
        if key not in self._connections:
            self._connections[key] = connection
            self._info[key] = (transport, protocol_version)

    def set_log_level(self, connection: Any, level: str) -> None:
        self._log_levels[id(connection)] = level

    def log_level(self, connection: Any) -> str | None:
        return self._log_levels.get(id(connection))

    def connection(self, key: int) -> Any | None:
        return self._connections.get(key)

    def count(self) -> int:
        return len(self._connections)

    def by_transport(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for key in list(self._connections.keys()):
            transport = self._info.get(key, ("unknown", ""))[0]
            out[transport] = out.get(transport, 0) + 1
        return out

    async def notify_all(self, method: str, params: dict[str, Any] | None = None) -> None:
        for key, connection in list(self._connections.items()):
            try:
                await connection.outbound.notify(method, params)
            except Exception as exc:  # a closed connection must not stop the broadcast
                log.debug("dropping connection %s from broadcasts: %s", key, exc)
                self._connections.pop(key, None)

    async def notify_one(self, key: int, method: str, params: dict[str, Any] | None = None) -> bool:
        connection = self._connections.get(key)
        if connection is None:
            return False
        try:
            await connection.outbound.notify(method, params)
            return True
        except Exception:
            self._connections.pop(key, None)
            return False

    async def on_catalog_event(self, event: CatalogEvent) -> None:
        if event.tools_changed:
            await self.notify_all("notifications/tools/list_changed")
            await self.bus.publish(ToolsListChanged())
        if event.prompts_changed:
            await self.notify_all("notifications/prompts/list_changed")
            await self.bus.publish(PromptsListChanged())
        if event.resources_changed:
            await self.notify_all("notifications/resources/list_changed")
            await self.bus.publish(ResourcesListChanged())

    async def resource_updated(self, uri: str, connection_keys: list[int] | None = None) -> None:
        """Tell subscribers that `uri` changed: the given connections, and modern listeners."""
        keys = connection_keys if connection_keys is not None else list(self._connections.keys())
        for key in keys:
            await self.notify_one(key, "notifications/resources/updated", {"uri": uri})
        await self.bus.publish(ResourceUpdated(uri=uri))
