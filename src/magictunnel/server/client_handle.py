"""A handle on the MCP client that made a request: the address for server->client traffic.

Pipeline stages and backends get it as `CallContext.session`. It exposes what a gateway
needs to route upstream traffic back to the right client on whatever transport it uses:
era, declared capabilities, request-scoped requests (sampling, elicitation, roots) and
notifications (progress, log messages).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp_types.version import MODERN_PROTOCOL_VERSIONS


class ClientHandle:
    def __init__(self, ctx: ServerRequestContext[Any, Any], transport: str) -> None:
        self._ctx = ctx
        self.transport = transport

    # ---- facts ---------------------------------------------------------------------------
    @property
    def request_context(self) -> ServerRequestContext[Any, Any]:
        return self._ctx

    @property
    def protocol_version(self) -> str:
        return self._ctx.protocol_version

    @property
    def is_modern(self) -> bool:
        """2026-07-28 era: stateless, no server->client requests (input_required instead)."""
        return self._ctx.protocol_version in MODERN_PROTOCOL_VERSIONS

    @property
    def request_id(self) -> Any:
        return self._ctx.request_id

    @property
    def connection(self) -> Any:
        return getattr(self._ctx.session, "_connection", None)

    @property
    def session_id(self) -> str | None:
        conn = self.connection
        return getattr(conn, "session_id", None) if conn is not None else None

    @property
    def key(self) -> int:
        """Stable per connection; used to route notifications back to this client."""
        conn = self.connection
        return id(conn) if conn is not None else id(self._ctx.session)

    @property
    def capabilities(self) -> dict[str, Any]:
        caps = self._ctx.session.client_capabilities
        return caps.model_dump(by_alias=True, exclude_none=True, mode="json") if caps is not None else {}

    @property
    def client_info(self) -> dict[str, Any] | None:
        params = self._ctx.session.client_params
        if params is None or params.client_info is None:
            return None
        return params.client_info.model_dump(by_alias=True, exclude_none=True, mode="json")

    def supports(self, capability: str) -> bool:
        """`sampling`, `elicitation`, `roots` (and sub-keys like `elicitation.url`)."""
        node: Any = self.capabilities
        for part in capability.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return node is not None

    @property
    def can_send_request(self) -> bool:
        return not self.is_modern and bool(getattr(self._ctx.session, "can_send_request", False))

    @property
    def progress_token(self) -> Any:
        meta = self._ctx.meta
        if meta is None:
            return None
        if isinstance(meta, Mapping):  # the SDK hands a dict keyed by field name (progress_token)
            token = meta.get("progress_token")
            return token if token is not None else meta.get("progressToken")
        return getattr(meta, "progress_token", None)

    # ---- traffic -------------------------------------------------------------------------
    async def request(
        self, method: str, params: Mapping[str, Any] | None, timeout: float | None = None
    ) -> dict[str, Any]:
        """A server->client request tied to the current client request (its stream, its session)."""
        outbound = getattr(self._ctx.session, "_request_outbound", None)
        opts = {"timeout": timeout} if timeout is not None else None
        if outbound is None:  # pragma: no cover - defensive for SDK changes
            return await self.connection.send_raw_request(method, params, opts)
        return await outbound.send_raw_request(method, params, opts)

    async def notify(self, method: str, params: Mapping[str, Any] | None) -> None:
        """A notification tied to the current request (progress, log messages)."""
        outbound = getattr(self._ctx.session, "_request_outbound", None)
        if outbound is None:  # pragma: no cover
            await self.connection.outbound.notify(method, params)
            return
        await outbound.notify(method, params)

    async def send_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        token = self.progress_token
        if token is None:
            return
        params: dict[str, Any] = {"progressToken": token, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        await self.notify("notifications/progress", params)
