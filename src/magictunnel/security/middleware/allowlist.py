"""Stage `allowlist`: tool and global rules, parameter rules, default action."""

from __future__ import annotations

from mcp_types import CallToolResult

from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.security.allowlist import AllowlistService
from magictunnel.security.middleware.denial import deny


class AllowlistMiddleware:
    name = "allowlist"

    def __init__(self, service: AllowlistService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> CallToolResult:
        decision = self.service.check_tool(call.tool.name, call.arguments)
        if not decision.allowed:
            return deny(ctx, decision)
        return await next(ctx, call)
