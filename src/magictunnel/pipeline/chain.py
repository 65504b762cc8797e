"""The one ordered middleware chain every tool execution walks.

A middleware is any object with `async def __call__(ctx, call, next) -> ToolResult`: a
`CallToolResult`, or for a 2026-07-28 client an `InputRequiredResult` (see results.py).
The last step is the router, which hands the call to the tool's backend. Smart discovery,
REST and MCP all execute tools through `Pipeline.execute`: there is exactly one way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.results import ToolResult

Next = Callable[[CallContext, ToolCall], Awaitable[ToolResult]]


class Middleware(Protocol):
    name: str

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> ToolResult: ...


class Pipeline:
    def __init__(self, terminal: Next, middlewares: Sequence[Middleware] = ()) -> None:
        self._terminal = terminal
        self._middlewares: list[Middleware] = list(middlewares)
        self._entry = self._compose()

    @property
    def middlewares(self) -> list[Middleware]:
        return list(self._middlewares)

    def set_middlewares(self, middlewares: Sequence[Middleware]) -> None:
        self._middlewares = list(middlewares)
        self._entry = self._compose()

    def _compose(self) -> Next:
        handler = self._terminal
        for middleware in reversed(self._middlewares):
            handler = _bind(middleware, handler)
        return handler

    async def execute(self, ctx: CallContext, call: ToolCall) -> ToolResult:
        return await self._entry(ctx, call)


def _bind(middleware: Middleware, nxt: Next) -> Next:
    async def step(ctx: CallContext, call: ToolCall) -> ToolResult:
        return await middleware(ctx, call, nxt)

    return step
