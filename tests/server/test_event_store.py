"""Streamable HTTP resumability: what a client that reconnects with Last-Event-ID gets again."""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types import JSONRPCNotification, JSONRPCResponse

from magictunnel.server.transports.event_store import MemoryEventStore

pytestmark = pytest.mark.anyio


async def test_replays_the_streams_later_messages_as_they_were_sent() -> None:
    store = MemoryEventStore(max_events=4)
    progress = JSONRPCNotification(
        jsonrpc="2.0", method="notifications/progress", params={"progressToken": 7, "progress": 0.5}
    )
    result = JSONRPCResponse(jsonrpc="2.0", id=7, result={"content": [{"type": "text", "text": "done ✓"}]})
    first = await store.store_event("a", None)  # the priming event
    await store.store_event("b", progress)  # another stream's
    await store.store_event("a", progress)
    await store.store_event("a", result)
    replayed: list[Any] = []

    async def send(event: Any) -> None:
        replayed.append(event)

    assert await store.replay_events_after(first, send) == "a"
    assert [e.message for e in replayed] == [progress, result]
    assert [e.event_id for e in replayed] == ["3", "4"]
    await store.store_event("a", result)  # the oldest event falls out: it can no longer be resumed from
    assert await store.replay_events_after(first, send) is None
