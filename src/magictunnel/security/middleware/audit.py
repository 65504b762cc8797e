"""Stage `audit` (outermost): records every outcome, denials included, before the result returns."""

from __future__ import annotations

import time
from typing import Any

from mcp_types import CallToolResult, TextContent

from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.security.audit import AuditService
from magictunnel.security.common import Decision

DENIED_STAGES = ("lockdown", "allowlist", "rbac", "policy")


def _result_summary(result: CallToolResult) -> dict[str, Any]:
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    out: dict[str, Any] = {"is_error": bool(result.is_error), "text": "\n".join(texts)}
    if len(texts) != len(result.content):
        out["other_content"] = [
            getattr(c, "type", "?") for c in result.content if not isinstance(c, TextContent)
        ]
    if result.structured_content is not None:
        out["structured"] = result.structured_content
    return out


class AuditMiddleware:
    name = "audit"

    def __init__(self, service: AuditService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> CallToolResult:
        started = time.perf_counter()
        try:
            result = await next(ctx, call)
        except BaseException as exc:
            self._record(ctx, call, None, started, exc)
            raise
        self._record(ctx, call, result, started, None)
        return result

    def _record(
        self,
        ctx: CallContext,
        call: ToolCall,
        result: CallToolResult | None,
        started: float,
        exc: BaseException | None,
    ) -> None:
        denial: Decision | None = ctx.notes.get("denial")
        if denial is not None:
            outcome = "denied" if denial.stage in DENIED_STAGES else "blocked"
            message = f"{denial.stage}: {denial.reason}"
        elif exc is not None:
            outcome, message = "error", f"{type(exc).__name__}: {exc}"
        elif result is not None and result.is_error:
            outcome, message = "error", "tool returned an error"
        else:
            outcome, message = "success", ""
        identity = ctx.identity
        details: dict[str, Any] = {}
        if "sanitization" in ctx.notes:
            details["sanitization"] = ctx.notes["sanitization"]
        if "policy" in ctx.notes:
            details["policy"] = ctx.notes["policy"]
        if identity.auth_method != "none":
            details["auth_method"] = identity.auth_method
        self.service.record(
            {
                "event_type": "tool_call",
                "action": "call",
                "outcome": outcome,
                "client_id": identity.client_id,
                "original_client": identity.original_client,
                "tool": call.tool.name,
                "server": call.tool.server,
                "source": ctx.source,
                "transport": ctx.transport,
                "remote_addr": ctx.remote_addr,
                "stage": denial.stage if denial else None,
                "rule": denial.rule if denial else None,
                "message": message,
                "arguments": call.arguments,
                "result": _result_summary(result) if result is not None else None,
                "details": details or None,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            }
        )
