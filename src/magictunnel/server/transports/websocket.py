"""WebSocket transport at `/mcp/ws`: one JSON-RPC message per text frame, subprotocol `mcp`.

The socket is bridged to the SDK's stream pair and served by the same Server as every
other transport, in either protocol era.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage
from mcp_types import jsonrpc_message_adapter
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from magictunnel.pipeline.context import Identity
from magictunnel.server.identity import connection_identity, connection_transport

log = logging.getLogger("magictunnel.ws")

PARSE_ERROR = -32700


async def serve_websocket(
    websocket: WebSocket, server: Any, identity: Identity | None, max_message_bytes: int
) -> None:
    subprotocols = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol="mcp" if "mcp" in subprotocols else None)
    connection_identity.set(identity)
    connection_transport.set("websocket")
    read_writer, read_stream = create_context_streams[SessionMessage | Exception](16)
    write_stream, write_reader = create_context_streams[SessionMessage](16)

    async def reader() -> None:
        try:
            while True:
                text = await websocket.receive_text()
                if len(text.encode()) > max_message_bytes:
                    await _send_error(websocket, None, -32600, "Message too large")
                    continue
                try:
                    message = jsonrpc_message_adapter.validate_json(text, by_name=False)
                except ValidationError:
                    await _send_error(websocket, _request_id(text), PARSE_ERROR, "Invalid JSON-RPC message")
                    continue
                await read_writer.send(SessionMessage(message))
        except (WebSocketDisconnect, anyio.ClosedResourceError, RuntimeError):
            pass
        finally:
            await read_writer.aclose()

    async def writer() -> None:
        try:
            async for session_message in write_reader:
                await websocket.send_text(
                    session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                )
        except (WebSocketDisconnect, anyio.ClosedResourceError, RuntimeError):
            pass

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        tg.start_soon(writer)
        try:
            await server.run(read_stream, write_stream, server.create_initialization_options())
        finally:
            tg.cancel_scope.cancel()
    try:
        await websocket.close()
    except (WebSocketDisconnect, RuntimeError):  # the client went first: nothing left to close
        pass


def _request_id(text: str) -> Any:
    try:
        data = json.loads(text)
        return data.get("id") if isinstance(data, dict) else None
    except ValueError:
        return None


async def _send_error(websocket: WebSocket, request_id: Any, code: int, message: str) -> None:
    await websocket.send_text(
        json.dumps({"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}})
    )
