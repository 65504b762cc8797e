"""Registration of the grpc, websocket, sse, database and llm backends (kept out of
`__init__` so each backend stays in its own file). They are created on first use, so a
gateway without such tools never imports grpc or SQLAlchemy's async drivers for them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp_types import CallToolResult

from magictunnel.backends.base import BackendRegistry
from magictunnel.backends.http_client import SharedHttpClient
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext


class LazyBackend:
    """A backend built by `factory` the first time it checks a config or executes a tool."""

    def __init__(self, type_: str, factory: Callable[[], Any]) -> None:
        self.type = type_
        self._factory = factory
        self._backend: Any = None

    def _get(self) -> Any:
        if self._backend is None:
            self._backend = self._factory()
        return self._backend

    def check_config(self, config: dict[str, Any]) -> list[str]:
        return self._get().check_config(config)

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        return await self._get().execute(tool, arguments, ctx)

    async def aclose(self) -> None:
        close = getattr(self._backend, "aclose", None)
        if close is not None:
            await close()


def register_extra_backends(
    registry: BackendRegistry, http_client: SharedHttpClient, vault: Any, base_dir: Path | None
) -> None:
    def grpc() -> Any:
        from magictunnel.backends.grpc import GrpcBackend

        return GrpcBackend(vault, base_dir)

    def websocket() -> Any:
        from magictunnel.backends.websocket import WebSocketBackend

        return WebSocketBackend(vault)

    def sse() -> Any:
        from magictunnel.backends.sse import SseBackend

        return SseBackend(http_client, vault)

    def database() -> Any:
        from magictunnel.backends.database import DatabaseBackend

        return DatabaseBackend(vault, base_dir)

    def llm() -> Any:
        from magictunnel.backends.llm import LLMBackend

        return LLMBackend(http_client, vault)

    registry.register(LazyBackend("grpc", grpc))
    registry.register(LazyBackend("websocket", websocket), "ws")
    registry.register(LazyBackend("sse", sse))
    registry.register(LazyBackend("database", database), "sql")
    registry.register(LazyBackend("llm", llm))
