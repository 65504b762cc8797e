"""Stage `sanitize_input`: secrets/PII in arguments are redacted or the call blocked, per policy."""

from __future__ import annotations

from mcp_types import CallToolResult

from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.security.common import Decision
from magictunnel.security.middleware.denial import deny
from magictunnel.security.sanitization import SanitizationService


class SanitizeInputMiddleware:
    name = "sanitize_input"

    def __init__(self, service: SanitizationService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> CallToolResult:
        if not call.arguments:
            return await next(ctx, call)
        outcome = self.service.process(call.tool.name, "input", call.arguments)
        if outcome.action == "blocked":
            return deny(
                ctx,
                Decision(
                    False,
                    "sanitization",
                    outcome.policy,
                    f"arguments of tool '{call.tool.name}' contain {outcome.summary()} "
                    f"(at {', '.join(sorted({f.path for f in outcome.findings}))})",
                ),
            )
        if outcome.action == "redacted":
            ctx.notes.setdefault("sanitization", {})["input"] = {
                "policy": outcome.policy,
                "findings": [f.to_dict() for f in outcome.findings],
            }
            call = ToolCall(tool=call.tool, arguments=outcome.value)
        return await next(ctx, call)
