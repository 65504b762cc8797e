"""The backend interface: one routing type each, one method to execute a tool."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from mcp_types import CallToolResult, TextContent

from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext


class BackendError(Exception):
    """A failure the caller should see as an `isError` result, with this message."""


class Backend(Protocol):
    #: the `routing.type` this backend executes
    type: str

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult: ...

    def check_config(self, config: dict[str, Any]) -> list[str]:
        """Problems with a tool's `routing.config`, each `field: message`; empty when valid."""
        ...


def error_result(message: str, **structured: Any) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(text=message)],
        is_error=True,
        structured_content=structured or None,
    )


def text_result(
    text: str, structured: dict[str, Any] | None = None, is_error: bool = False
) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=text)], structured_content=structured, is_error=is_error)


def json_result(value: Any, is_error: bool = False) -> CallToolResult:
    """A result carrying JSON: text for every client, structuredContent when it is an object."""
    text = json.dumps(value, ensure_ascii=False, indent=2) if not isinstance(value, str) else value
    structured = value if isinstance(value, dict) else None
    return CallToolResult(content=[TextContent(text=text)], structured_content=structured, is_error=is_error)


class BackendRegistry:
    def __init__(self) -> None:
        self._backends: dict[str, Backend] = {}

    def register(self, backend: Backend, *aliases: str) -> None:
        self._backends[backend.type] = backend
        for alias in aliases:
            self._backends[alias] = backend

    def get(self, routing_type: str) -> Backend | None:
        return self._backends.get(routing_type)

    def types(self) -> set[str]:
        return set(self._backends)

    async def aclose(self) -> None:
        """Release what backends hold (connection pools); called when the gateway stops."""
        seen: set[int] = set()
        for backend in list(self._backends.values()):
            close = getattr(backend, "aclose", None)
            if id(backend) in seen or close is None:
                continue
            seen.add(id(backend))
            try:
                await close()
            except Exception as exc:
                logging.getLogger("magictunnel.backends").warning(
                    "backend %s failed to close: %s", backend.type, exc
                )
