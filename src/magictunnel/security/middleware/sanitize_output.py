"""Stage `sanitize_output`: secrets/PII in results are redacted or the result withheld, per policy.

An `input_required` result is scanned where it carries text meant for people or for the client's
model: each elicitation's message and the title/description/default of its requested properties,
each sampling request's system prompt and text messages. Everything else (the requestState, which
must come back verbatim, request keys and methods, schema structure, URLs) passes untouched; a
redacted round is rebuilt from its wire form with only those strings replaced.
"""

from __future__ import annotations

from typing import Any

from mcp_types import (
    CallToolResult,
    EmbeddedResource,
    InputRequiredResult,
    TextContent,
    TextResourceContents,
)

from magictunnel.backends.base import error_result
from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.results import ToolResult
from magictunnel.security.common import Decision
from magictunnel.security.middleware.denial import denial_message
from magictunnel.security.sanitization import Outcome, SanitizationService


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


Path = tuple[str | int, ...]
_SCHEMA_TEXTS = ("title", "description", "default")


def _round_texts(wire: dict[str, Any]) -> tuple[dict[str, str], dict[str, Path]]:
    """The human-facing strings of an input_required round's wire form: label -> text, label -> path."""
    parts: dict[str, str] = {}
    paths: dict[str, Path] = {}

    def add(label: str, path: Path, value: Any) -> None:
        if isinstance(value, str) and value:
            parts[label], paths[label] = value, path

    for key, request in (wire.get("inputRequests") or {}).items():
        params = request.get("params") if isinstance(request, dict) else None
        if not isinstance(params, dict):
            continue
        label, base = f"inputRequests[{key}]", ("inputRequests", key, "params")
        method = request.get("method")
        if method == "elicitation/create":
            add(f"{label}.message", (*base, "message"), params.get("message"))
            schema = params.get("requestedSchema")
            props = schema.get("properties") if isinstance(schema, dict) else None
            for name, prop in (props or {}).items():
                if isinstance(prop, dict):
                    for field in _SCHEMA_TEXTS:
                        where = (*base, "requestedSchema", "properties", name, field)
                        add(f"{label}.requestedSchema.{name}.{field}", where, prop.get(field))
        elif method == "sampling/createMessage":
            add(f"{label}.systemPrompt", (*base, "systemPrompt"), params.get("systemPrompt"))
            for i, msg in enumerate(params.get("messages") or []):
                content = msg.get("content") if isinstance(msg, dict) else None
                at: Path = (*base, "messages", i, "content")
                blocks = [(f"{label}.messages[{i}]", at, content)]
                if isinstance(content, list):  # several content blocks
                    blocks = [(f"{label}.messages[{i}][{j}]", (*at, j), b) for j, b in enumerate(content)]
                for name, where, block in blocks:
                    if isinstance(block, dict) and block.get("type") == "text":
                        add(name, (*where, "text"), block.get("text"))
    return parts, paths


def _set(wire: dict[str, Any], path: Path, value: Any) -> None:
    node: Any = wire
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


class SanitizeOutputMiddleware:
    name = "sanitize_output"

    def __init__(self, service: SanitizationService) -> None:
        self.service = service

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> ToolResult:
        result = await next(ctx, call)
        if isinstance(result, InputRequiredResult):
            return self._input_required(ctx, call, result)
        if not isinstance(result, CallToolResult):
            return result
        parts = _texts(result)
        if not parts:
            return result
        outcome = self.service.process(call.tool.name, "output", parts)
        if outcome.action == "blocked":
            return self._withhold(ctx, call, outcome, "the result")
        if outcome.action == "redacted":
            self._note(ctx, outcome)
            return _rebuild(result, outcome.value)
        return result

    def _input_required(self, ctx: CallContext, call: ToolCall, result: InputRequiredResult) -> ToolResult:
        wire = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        parts, paths = _round_texts(wire)
        if not parts:
            return result
        outcome = self.service.process(call.tool.name, "output", parts)
        if outcome.action == "blocked":
            return self._withhold(ctx, call, outcome, "the input request")
        if outcome.action != "redacted":
            return result
        self._note(ctx, outcome)
        for label, value in outcome.value.items():
            if label in paths and value != parts[label]:
                _set(wire, paths[label], value)
        return InputRequiredResult.model_validate(wire)

    @staticmethod
    def _note(ctx: CallContext, outcome: Outcome) -> None:
        ctx.notes.setdefault("sanitization", {})["output"] = {
            "policy": outcome.policy,
            "findings": [f.to_dict() for f in outcome.findings],
        }

    @staticmethod
    def _withhold(ctx: CallContext, call: ToolCall, outcome: Outcome, what: str) -> CallToolResult:
        decision = Decision(
            False,
            "sanitization",
            outcome.policy,
            f"{what} of tool '{call.tool.name}' contains {outcome.summary()} and was withheld",
        )
        ctx.notes["denial"] = decision
        return error_result(denial_message(decision))
