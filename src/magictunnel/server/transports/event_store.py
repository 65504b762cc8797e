"""A bounded in-memory event store: Streamable HTTP resumability with `Last-Event-ID`.

Events are kept as their JSON text, parsed again only when a client resumes: 10,000 kept
messages as pydantic objects were some hundred thousand objects for the garbage collector to
walk on every full pass (core/heap.py); as strings they are none.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage, jsonrpc_message_adapter


class MemoryEventStore(EventStore):
    def __init__(self, max_events: int = 10_000) -> None:
        self.max_events = max_events
        self._events: OrderedDict[str, tuple[StreamId, str | None]] = OrderedDict()
        self._counter = itertools.count(1)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = f"{next(self._counter)}"
        text = message.model_dump_json(by_alias=True, exclude_unset=True) if message is not None else None
        self._events[event_id] = (stream_id, text)
        while len(self._events) > self.max_events:
            self._events.popitem(last=False)
        return event_id

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        if last_event_id not in self._events:
            return None
        stream_id = self._events[last_event_id][0]
        found = False
        for event_id, (sid, text) in list(self._events.items()):
            if found and sid == stream_id and text is not None:
                message = jsonrpc_message_adapter.validate_json(text, by_name=False)
                await send_callback(EventMessage(message, event_id))
            if event_id == last_event_id:
                found = True
        return stream_id
