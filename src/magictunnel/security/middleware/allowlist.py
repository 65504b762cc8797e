"""Stage `allowlist`: tool and global rules, parameter rules, default action."""

from __future__ import annotations

from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.results import ToolResult
from magictunnel.security.allowlist import AllowlistService
from magictunnel.security.middleware.denial import deny


class AllowlistMiddleware:
    name = "allowlist"

    def __init__(self, service: AllowlistService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> ToolResult:
        decision = self.service.check_tool(call.tool.name, call.arguments)
        if not decision.allowed:
            return deny(ctx, decision)
        return await next(ctx, call)
