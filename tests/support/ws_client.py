"""A WebSocket client transport for the SDK's `Client` (the SDK v2 ships none)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage
from mcp_types import jsonrpc_message_adapter
from websockets.asyncio.client import connect


@asynccontextmanager
async def websocket_client(url: str, headers: dict[str, str] | None = None) -> AsyncIterator[tuple]:
    read_writer, read_stream = create_context_streams[SessionMessage | Exception](16)
    write_stream, write_reader = create_context_streams[SessionMessage](16)
    async with connect(url, subprotocols=["mcp"], additional_headers=headers) as ws:

        async def reader() -> None:
            async with read_writer:
                async for frame in ws:
                    await read_writer.send(
                        SessionMessage(jsonrpc_message_adapter.validate_json(frame, by_name=False))
                    )

        async def writer() -> None:
            async with write_reader:
                async for message in write_reader:
                    await ws.send(message.message.model_dump_json(by_alias=True, exclude_unset=True))

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            tg.start_soon(writer)
            yield read_stream, write_stream
            tg.cancel_scope.cancel()
