"""Stage `sanitize_output`: secrets/PII in results are redacted or the result withheld, per policy."""

from __future__ import annotations

from typing import Any

from mcp_types import CallToolResult, EmbeddedResource, TextContent, TextResourceContents

from magictunnel.backends.base import error_result
from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.security.common import Decision
from magictunnel.security.middleware.denial import denial_message
from magictunnel.security.sanitization import SanitizationService


def _texts(result: CallToolResult) -> dict[str, Any]:
    """The scannable parts of a result, addressed by position."""
    parts: dict[str, Any] = {}
    for i, item in enumerate(result.content):
        if isinstance(item, TextContent):
            parts[f"content[{i}]"] = item.text
        elif isinstance(item, EmbeddedResource) and isinstance(item.resource, TextResourceContents):
            parts[f"content[{i}].resource"] = item.resource.text
    if result.structured_content is not None:
        parts["structuredContent"] = result.structured_content
    return parts


def _rebuild(result: CallToolResult, parts: dict[str, Any]) -> CallToolResult:
    content = []
    for i, item in enumerate(result.content):
        if isinstance(item, TextContent) and f"content[{i}]" in parts:
            item = item.model_copy(update={"text": parts[f"content[{i}]"]})
        elif isinstance(item, EmbeddedResource) and f"content[{i}].resource" in parts:
            item = item.model_copy(
                update={
                    "resource": item.resource.model_copy(update={"text": parts[f"content[{i}].resource"]})
                }
            )
        content.append(item)
    return result.model_copy(
        update={
            "content": content,
            "structured_content": parts.get("structuredContent", result.structured_content),
        }
    )


class SanitizeOutputMiddleware:
    name = "sanitize_output"

    def __init__(self, service: SanitizationService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> CallToolResult:
        result = await next(ctx, call)
        parts = _texts(result)
        if not parts:
            return result
        outcome = self.service.process(call.tool.name, "output", parts)
        if outcome.action == "blocked":
            decision = Decision(
                False,
                "sanitization",
                outcome.policy,
                f"the result of tool '{call.tool.name}' contains {outcome.summary()} and was withheld",
            )
            ctx.notes["denial"] = decision
            return error_result(denial_message(decision))
        if outcome.action == "redacted":
            ctx.notes.setdefault("sanitization", {})["output"] = {
                "policy": outcome.policy,
                "findings": [f.to_dict() for f in outcome.findings],
            }
            return _rebuild(result, outcome.value)
        return result
