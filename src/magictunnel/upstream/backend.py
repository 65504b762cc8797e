"""`external_mcp` backend: a catalog tool served by an external MCP server.

The tool's `original_name` (never the served, possibly prefixed name) goes upstream on the
server's long-lived session. Failures are JSON-RPC errors naming the server (`MCPError`,
which the router re-raises): a crash mid-call, an unavailable server, a timeout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_types import CallToolResult

from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext
from magictunnel.upstream.naming import ROUTING_TYPE

if TYPE_CHECKING:
    from magictunnel.upstream.manager import UpstreamManager


class ExternalMcpBackend:
    type = ROUTING_TYPE
    # The upstream request carries the tool's timeout itself, so the client gets the error naming
    # the server (and the server a cancellation); the router's deadline is only a backstop.
    own_deadline = True

    def __init__(self, manager: UpstreamManager) -> None:
        self.manager = manager

    def check_config(self, config: dict[str, Any]) -> list[str]:
        if not isinstance(config.get("server"), str) or not config.get("server"):
            return ["server: required, the name of an external MCP server"]
        return []

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        server = tool.server or tool.routing.config.get("server") or ""
        spec_timeout = tool.routing.config.get("timeout")
        timeout = self.manager.gateway.config.tool_timeout(
            tool.name, float(spec_timeout) if isinstance(spec_timeout, int | float) else None
        )
        return await self.manager.forwarder.call_tool(  # type: ignore[return-value]
            server, tool.upstream_name, arguments, ctx.session, timeout
        )
