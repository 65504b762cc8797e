"""Registration of the grpc, websocket, sse, database and llm backends (kept out of
`__init__` so the package imports stay light and each backend stays in its own file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from magictunnel.backends.base import BackendRegistry
from magictunnel.backends.http_client import SharedHttpClient


def register_extra_backends(
    registry: BackendRegistry, http_client: SharedHttpClient, vault: Any, base_dir: Path | None
) -> None:
    from magictunnel.backends.database import DatabaseBackend
    from magictunnel.backends.grpc import GrpcBackend
    from magictunnel.backends.llm import LLMBackend
    from magictunnel.backends.sse import SseBackend
    from magictunnel.backends.websocket import WebSocketBackend

    registry.register(GrpcBackend(vault, base_dir))
    registry.register(WebSocketBackend(vault), "ws")
    registry.register(SseBackend(http_client, vault))
    registry.register(DatabaseBackend(vault, base_dir), "sql")
    registry.register(LLMBackend(http_client, vault))
