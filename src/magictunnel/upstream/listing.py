"""What an upstream server offers: its tools, prompts, resources and templates, every page."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError

from magictunnel.upstream.config import ServerSpec
from magictunnel.upstream.state import Capabilities


class Listing:
    """Mixin for `UpstreamConnection`: (re)lists the server's offer into `capabilities`."""

    spec: ServerSpec
    capabilities: Capabilities
    last_ok: float | None
    _session: ClientSession | None

    if TYPE_CHECKING:  # defined on the connection

        async def raw_request(
            self,
            method: str,
            params: Mapping[str, Any] | None,
            *,
            timeout: float | None = None,
            session: ClientSession | None = None,
        ) -> dict[str, Any]: ...

        def _unavailable(self) -> MCPError: ...

    async def _list_all(self, session: ClientSession) -> None:
        caps = Capabilities()
        server_caps = session.server_capabilities
        caps.server_capabilities = (
            server_caps.model_dump(by_alias=True, mode="json", exclude_none=True) if server_caps else {}
        )
        info = session.server_info
        caps.server_info = info.model_dump(by_alias=True, mode="json", exclude_none=True) if info else None
        caps.instructions = session.instructions
        if server_caps is None or server_caps.tools is not None:
            caps.tools = await self._list(session, "tools/list", "tools")
        if server_caps is not None and server_caps.prompts is not None:
            caps.prompts = await self._list(session, "prompts/list", "prompts")
        if server_caps is not None and server_caps.resources is not None:
            caps.resources = await self._list(session, "resources/list", "resources")
            caps.resource_templates = await self._list(
                session, "resources/templates/list", "resourceTemplates"
            )
        caps.listed_at = time.time()
        self.capabilities = caps

    async def _list(self, session: ClientSession, method: str, key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(1000):
            params = {"cursor": cursor} if cursor else None
            raw = await self.raw_request(method, params, timeout=self.spec.startup_timeout, session=session)
            page = raw.get(key) or []
            items.extend(i for i in page if isinstance(i, dict))
            cursor = raw.get("nextCursor")
            if not cursor:
                break
        return items

    async def refresh_lists(self) -> None:
        session = self._session
        if session is None:
            raise self._unavailable()
        await self._list_all(session)
        self.last_ok = time.time()
