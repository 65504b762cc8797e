"""The pipeline's last step: hand the call to the backend of its routing type, with a timeout."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from magictunnel.backends.base import BackendError, BackendRegistry, error_result
from magictunnel.pipeline.context import CallContext, ToolCall

log = logging.getLogger("magictunnel.router")
BACKSTOP_GRACE = 2.0  # seconds past the timeout before the router gives up on a self-timing backend


class Router:
    def __init__(self, backends: BackendRegistry, timeout_for: Callable[[ToolCall], float]) -> None:
        self.backends = backends
        self._timeout_for = timeout_for

    async def __call__(self, ctx: CallContext, call: ToolCall) -> CallToolResult:
        tool = call.tool
        if not tool.enabled:
            return error_result(f"Tool {tool.name} is disabled")
        backend = self.backends.get(tool.routing.type)
        if backend is None:
            return error_result(f"Tool {tool.name}: no backend for routing type {tool.routing.type!r}")
        timeout = self._timeout_for(call)
        # a backend that enforces the timeout itself (with its own, more precise error) gets it in
        # full; the router's deadline then only catches one that failed to
        deadline = timeout + BACKSTOP_GRACE if getattr(backend, "own_deadline", False) else timeout
        try:
            with anyio.fail_after(deadline):
                return await backend.execute(tool, call.arguments, ctx)
        except TimeoutError:
            return error_result(f"Tool {tool.name} timed out after {timeout:g}s")
        except MCPError:
            raise  # protocol errors (an upstream server's, an unknown tool) reach the client as such
        except BackendError as exc:
            return error_result(f"Tool {tool.name} failed: {exc}")
        except Exception as exc:  # a backend bug must not take the gateway down
            log.exception("backend %s failed on %s", tool.routing.type, tool.name)
            return error_result(f"Tool {tool.name} failed: {type(exc).__name__}: {exc}")
