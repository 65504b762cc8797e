"""Stage `rbac`: the client's roles (and their inherited roles) must permit the tool or its server."""

from __future__ import annotations

from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.results import ToolResult
from magictunnel.security.middleware.denial import deny
from magictunnel.security.rbac import RbacService


class RbacMiddleware:
    name = "rbac"

    def __init__(self, service: RbacService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> ToolResult:
        ctx.notes["roles"] = self.service.effective_roles(ctx.identity)
        decision = self.service.check_tool(ctx.identity, call.tool)
        if not decision.allowed:
            return deny(ctx, decision)
        return await next(ctx, call)
