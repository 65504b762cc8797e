"""Stage `lockdown`: while the emergency lockdown is on, no tool executes."""

from __future__ import annotations

from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.results import ToolResult
from magictunnel.security.lockdown import LockdownService
from magictunnel.security.middleware.denial import deny


class LockdownMiddleware:
    name = "lockdown"

    def __init__(self, service: LockdownService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> ToolResult:
        if self.service.active:
            return deny(ctx, self.service.check())
        return await next(ctx, call)
