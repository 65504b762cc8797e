"""The transport's read stream, wrapped so the connection notices its end at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
from mcp.shared.message import SessionMessage

if TYPE_CHECKING:
    from magictunnel.upstream.connection import UpstreamConnection


class _Watched:
    """The transport's read stream, noticing its end (a crash, an exit) at once."""

    def __init__(self, inner: Any, conn: UpstreamConnection) -> None:
        self._inner = inner
        self._conn = conn

    def __aiter__(self) -> _Watched:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            item = await self._inner.__anext__()
        except (StopAsyncIteration, anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._conn.connection_lost()
            raise StopAsyncIteration from None
        return item

    async def receive(self) -> SessionMessage | Exception:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._conn.connection_lost()
            raise

    def close(self) -> None:
        self._inner.close()

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _Watched:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._inner.aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
