"""How every security stage refuses a call: an `isError` result naming the stage and the rule.

The decision is kept in `ctx.notes["denial"]` so the audit stage records who denied it and why.
"""

from __future__ import annotations

from mcp_types import CallToolResult

from magictunnel.backends.base import error_result
from magictunnel.pipeline.context import CallContext
from magictunnel.security.common import Decision


def denial_message(decision: Decision) -> str:
    return f"Denied by {decision.stage} (rule '{decision.rule}'): {decision.reason}"


def deny(ctx: CallContext, decision: Decision) -> CallToolResult:
    ctx.notes["denial"] = decision
    return error_result(denial_message(decision))
