"""Stage `sanitize_input`: secrets/PII in arguments are redacted or the call blocked, per policy.

A 2026-07-28 retry also carries the client's `inputResponses` (its answers to an input_required
round), which go to the tool's server with the arguments: they are checked by the same input
policy. Redacted answers reach the later stages and the server in place of the client's (through
the call context's session); the `requestState` is never touched.
"""

from __future__ import annotations

from mcp_types import CallToolResult

from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.results import ToolResult, input_retry, with_input_responses
from magictunnel.security.common import Decision
from magictunnel.security.middleware.denial import deny
from magictunnel.security.sanitization import Outcome, SanitizationService


class SanitizeInputMiddleware:
    name = "sanitize_input"

    def __init__(self, service: SanitizationService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> ToolResult:
        if call.arguments:
            outcome = self.service.process(call.tool.name, "input", call.arguments)
            if outcome.action == "blocked":
                return self._block(ctx, call, outcome, "arguments")
            if outcome.action == "redacted":
                self._note(ctx, "input", outcome)
                call = ToolCall(tool=call.tool, arguments=outcome.value)
        retry = input_retry(ctx)
        if retry is not None and retry.responses:
            outcome = self.service.process(call.tool.name, "input", dict(retry.responses))
            if outcome.action == "blocked":
                return self._block(ctx, call, outcome, "input responses")
            if outcome.action == "redacted":
                self._note(ctx, "input_responses", outcome)
                ctx = with_input_responses(ctx, outcome.value)
        return await next(ctx, call)

    @staticmethod
    def _note(ctx: CallContext, key: str, outcome: Outcome) -> None:
        ctx.notes.setdefault("sanitization", {})[key] = {
            "policy": outcome.policy,
            "findings": [f.to_dict() for f in outcome.findings],
        }

    @staticmethod
    def _block(ctx: CallContext, call: ToolCall, outcome: Outcome, what: str) -> CallToolResult:
        return deny(
            ctx,
            Decision(
                False,
                "sanitization",
                outcome.policy,
                f"{what} of tool '{call.tool.name}' contain {outcome.summary()} "
                f"(at {', '.join(sorted({f.path for f in outcome.findings}))})",
            ),
        )
