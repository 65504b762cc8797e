"""Streamable HTTP to an upstream, with each server->client message tied to the call it belongs to.

A Streamable HTTP server sends the sampling, elicitation and roots requests and the log messages
a tool call causes on that call's own SSE response stream. The SDK's client transport knows which
request a stream answers, but hands the messages on without it, so the gateway could only guess
which client's call a question belongs to. This transport writes the stream's request id into
the message's `_meta` under `RELATED_META_KEY` (`routing.py` reads it, removes it, and sends the
message to the client whose call carries that id). Messages on the standalone GET stream belong
to no call and carry no mark.

`correlating_http_client` is the SDK's `streamable_http_client` with this transport in place of
`StreamableHTTPTransport` (the SDK builds its transport inside that function).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from httpx2 import ServerSentEvent
from mcp.client._transport import TransportStreams
from mcp.client.streamable_http import StreamableHTTPTransport
from mcp.shared._context_streams import create_context_streams
from mcp.shared.message import SessionMessage
from mcp_types import RequestId

log = logging.getLogger("magictunnel.upstream.transport")

#: `_meta` key under which the id of the call a server->client message belongs to travels from
#: the transport to the routing code; never forwarded to a client
RELATED_META_KEY = "io.magictunnel/related-request"
#: the messages the gateway routes to a client by the call in flight
ROUTED_METHODS = frozenset(
    {"sampling/createMessage", "elicitation/create", "roots/list", "notifications/message"}
)


def mark_related(data: str, request_id: RequestId | None) -> str:
    """The SSE event's JSON with `request_id` under `_meta[RELATED_META_KEY]` when it is one of
    `ROUTED_METHODS`; otherwise (responses, other notifications, bad JSON) unchanged. With
    `request_id` None (the standalone GET stream), a mark the server wrote itself is removed: only
    the stream a message came on says which call it belongs to."""
    if request_id is None:
        if RELATED_META_KEY not in data:
            return data
    elif not any(method in data for method in ROUTED_METHODS):
        return data  # most events (tool results, progress): a substring scan, no second parse
    try:
        message = json.loads(data)
    except ValueError:
        return data  # the SDK reports the parse error on the call, as usual
    if not isinstance(message, dict) or message.get("method") not in ROUTED_METHODS:
        return data
    params = message.get("params")
    if params is None:
        params = message["params"] = {}
    if not isinstance(params, dict):
        return data
    meta = params.get("_meta")
    if meta is None:
        meta = params["_meta"] = {}
    if not isinstance(meta, dict):
        return data
    if request_id is None:
        meta.pop(RELATED_META_KEY, None)
    else:
        meta[RELATED_META_KEY] = request_id
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class CorrelatingTransport(StreamableHTTPTransport):
    async def _handle_sse_event(
        self,
        sse: ServerSentEvent,
        read_stream_writer: Any,
        original_request_id: RequestId | None = None,
        resumption_callback: Callable[[str], Awaitable[None]] | None = None,
    ) -> bool:
        if sse.event == "message" and sse.data:
            marked = mark_related(sse.data, original_request_id)
            if marked is not sse.data:
                sse = ServerSentEvent(event=sse.event, data=marked, id=sse.id, retry=sse.retry)
        return await super()._handle_sse_event(
            sse, read_stream_writer, original_request_id, resumption_callback
        )


@asynccontextmanager
async def correlating_http_client(
    url: str, *, http_client: httpx2.AsyncClient, max_sse_event_size: int | None
) -> AsyncGenerator[TransportStreams, None]:
    """The SDK's `streamable_http_client` (mcp 2.3.0) with `CorrelatingTransport`; the caller
    owns `http_client`."""
    transport = CorrelatingTransport(url, max_sse_event_size=max_sse_event_size)
    read_stream_writer, read_stream = create_context_streams[SessionMessage | Exception](0)
    write_stream, write_stream_reader = create_context_streams[SessionMessage](0)
    async with (
        read_stream_writer,
        read_stream,
        write_stream,
        write_stream_reader,
        anyio.create_task_group() as tg,
    ):

        def start_get_stream() -> None:
            tg.start_soon(transport.handle_get_stream, http_client, read_stream_writer)

        tg.start_soon(
            transport.post_writer,
            http_client,
            write_stream_reader,
            read_stream_writer,
            write_stream,
            start_get_stream,
            tg,
        )
        try:
            yield read_stream, write_stream
        finally:
            if transport.session_id:
                await transport.terminate_session(http_client)  # logs, never raises
            tg.cancel_scope.cancel()
