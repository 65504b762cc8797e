"""Argument validation against the tool's inputSchema (JSON Schema 2020-12), before execution."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from magictunnel.backends.base import error_result
from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.results import ToolResult


@lru_cache(maxsize=4096)
def _validator(schema_key: str) -> Draft202012Validator:
    import json

    return Draft202012Validator(json.loads(schema_key))


def validate_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> list[str]:
    import json

    validator = _validator(json.dumps(schema, sort_keys=True))
    problems = []
    for err in sorted(validator.iter_errors(arguments), key=lambda e: list(e.path)):
        field = ".".join(str(p) for p in err.absolute_path) or "<arguments>"
        problems.append(f"{field}: {err.message}")
    return problems


class ArgumentValidation:
    """Rejects calls whose arguments do not match the schema, saying which field and why."""

    name = "validation"

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> ToolResult:
        if call.tool.server is None:  # external servers validate their own arguments
            problems = validate_arguments(call.tool.input_schema, call.arguments)
            if problems:
                return error_result(f"Invalid arguments for {call.tool.name}: " + "; ".join(problems))
        return await next(ctx, call)
