"""Stage `audit` (outermost): records every outcome, denials included, before the result returns.

An `input_required` result (a 2026-07-28 client must answer input requests and retry) is recorded
with outcome `input_required` and what it asks for (method and message of each request, never the
opaque requestState). A retry is recorded like any call, with the keys of the inputResponses it
carries in `details.input_responses`.
"""

from __future__ import annotations

import time
from typing import Any

from mcp_types import CallToolResult, InputRequiredResult, TextContent

from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.results import (
    ToolResult,
    describe_input_requests,
    input_required_of,
    input_retry,
)
from magictunnel.security.audit import AuditService
from magictunnel.security.common import Decision

DENIED_STAGES = ("lockdown", "allowlist", "rbac", "policy")


def _result_summary(result: ToolResult) -> dict[str, Any]:
    if isinstance(result, InputRequiredResult):
        return _round_summary(result)
    if not isinstance(result, CallToolResult):  # never let an odd result break auditing
        return {"type": type(result).__name__}
    texts = [c.text for c in result.content if isinstance(c, TextContent)]
    out: dict[str, Any] = {"is_error": bool(result.is_error), "text": "\n".join(texts)}
    if len(texts) != len(result.content):
        out["other_content"] = [
            getattr(c, "type", "?") for c in result.content if not isinstance(c, TextContent)
        ]
    if result.structured_content is not None:
        out["structured"] = result.structured_content
    carried = input_required_of(result)  # a local tool's round (smart discovery)
    if carried is not None:
        out.update(_round_summary(carried))
    return out


def _round_summary(round_: InputRequiredResult) -> dict[str, Any]:
    return {
        "input_required": True,
        "input_requests": describe_input_requests(round_),
        "has_request_state": round_.request_state is not None,
    }


class AuditMiddleware:
    name = "audit"

    def __init__(self, service: AuditService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> ToolResult:
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
        result: ToolResult | None,
        started: float,
        exc: BaseException | None,
    ) -> None:
        denial: Decision | None = ctx.notes.get("denial")
        if denial is not None:
            outcome = "denied" if denial.stage in DENIED_STAGES else "blocked"
            message = f"{denial.stage}: {denial.reason}"
        elif exc is not None:
            outcome, message = "error", f"{type(exc).__name__}: {exc}"
        elif result is not None and input_required_of(result) is not None:
            outcome, message = "input_required", "the tool asked the client for input"
        elif isinstance(result, CallToolResult) and result.is_error:
            outcome, message = "error", "tool returned an error"
        else:
            outcome, message = "success", ""
        identity = ctx.identity
        details: dict[str, Any] = {}
        if "sanitization" in ctx.notes:
            details["sanitization"] = ctx.notes["sanitization"]
        if "policy" in ctx.notes:
            details["policy"] = ctx.notes["policy"]
        retry = input_retry(ctx)
        if retry is not None:
            details["input_responses"] = retry.keys
            details["request_state"] = retry.has_state
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
