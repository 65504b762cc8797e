"""The websocket backend against a real local WebSocket server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from magictunnel.backends.base import BackendError
from magictunnel.backends.websocket import WebSocketBackend
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext


class DictVault:
    def get_secret(self, name: str) -> str | None:
        return {"ws.token": "tok-123", "ws.cookie": "c-456"}.get(name)


async def handler(ws: ServerConnection) -> None:
    auth = ws.request.headers.get("Authorization")
    async for raw in ws:
        msg = json.loads(raw)
        if msg.get("op") == "count":
            for i in range(int(msg["n"])):
                await ws.send(json.dumps({"type": "tick" if i % 2 == 0 else "tock", "i": i}))
            await ws.send(json.dumps({"type": "done"}))
        elif msg.get("op") == "whoami":
            await ws.send(json.dumps({"auth": auth}))
        elif msg.get("op") == "cookie":
            await ws.send(json.dumps({"cookie": ws.request.headers.get("Cookie")}))
        elif msg.get("op") == "close":
            await ws.send("bye")
            await ws.close()
        elif msg.get("op") == "silent":
            await asyncio.sleep(5)


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/feed"


def tool(config: dict[str, Any]) -> ToolDef:
    return ToolDef(name="ws", routing={"type": "websocket", "config": config})


async def run(config: dict[str, Any], args: dict[str, Any]) -> Any:
    return await WebSocketBackend(DictVault()).execute(tool(config), args, CallContext())


@pytest.mark.anyio
async def test_templated_message_and_until_condition(url: str) -> None:
    config = {"url": url, "message": {"op": "count", "n": "{n}"}, "until": {"path": "type", "equals": "done"}}
    result = await run(config, {"n": 5})
    data = result.structured_content
    assert not result.is_error and data["stopped"] == "until"
    assert [m.get("i") for m in data["messages"]] == [0, 1, 2, 3, 4, None]


@pytest.mark.anyio
async def test_filter_and_limit(url: str) -> None:
    config = {"url": url, "message": {"op": "count", "n": 10}, "filter": '"tock"', "max_messages": 3}
    data = (await run(config, {})).structured_content
    assert data["stopped"] == "limit" and [m["i"] for m in data["messages"]] == [1, 3, 5]


@pytest.mark.anyio
async def test_default_is_the_first_reply_and_auth_is_injected(url: str) -> None:
    config = {"url": url, "message": {"op": "whoami"}, "auth": {"type": "bearer", "credential": "ws.token"}}
    data = (await run(config, {})).structured_content
    assert data == {"messages": [{"auth": "Bearer tok-123"}], "count": 1, "stopped": "limit"}


@pytest.mark.anyio
async def test_timeout_closed_and_unmatched_until(url: str) -> None:
    timed = await run({"url": url, "message": {"op": "silent"}, "window": 0.3}, {})
    assert not timed.is_error and timed.structured_content["stopped"] == "timeout"
    closed = await run({"url": url, "message": {"op": "close"}, "window": 5}, {})
    assert closed.structured_content == {"messages": ["bye"], "count": 1, "stopped": "closed"}
    unmatched = await run(
        {"url": url, "message": {"op": "count", "n": 2}, "until": "never", "window": 0.5}, {}
    )
    assert unmatched.is_error and "no message matched `until`" in unmatched.content[0].text


@pytest.mark.anyio
async def test_connection_failure_is_clear() -> None:
    with pytest.raises(BackendError, match=r"cannot connect to ws://127\.0\.0\.1:1/"):
        await run({"url": "ws://127.0.0.1:1/", "timeout": 2}, {})


def test_check_config() -> None:
    assert WebSocketBackend().check_config({"url": "http://x", "until": "(", "max_messages": 0}) == [
        "url: required, a ws:// or wss:// URL",
        "until: invalid regular expression: missing ), unterminated subpattern at position 0",
        "max_messages: expected a positive integer",
    ]


@pytest.mark.anyio
async def test_api_key_cookie_is_sent_with_the_handshake(url: str) -> None:
    config = {
        "url": url,
        "message": {"op": "cookie"},
        "headers": {"Cookie": "theme=dark"},
        "auth": {"type": "api_key", "credential": "ws.cookie", "in": "cookie", "name": "session"},
    }
    data = (await run(config, {})).structured_content
    assert data["messages"] == [{"cookie": "theme=dark; session=c-456"}]


@pytest.mark.anyio
async def test_collection_window_stays_inside_the_gateway_timeout(url: str) -> None:
    from magictunnel.backends.base import BackendRegistry
    from magictunnel.backends.router import Router
    from magictunnel.pipeline.context import ToolCall

    registry = BackendRegistry()
    registry.register(WebSocketBackend(DictVault()))
    router = Router(registry, lambda call: float(call.tool.routing.config["timeout"]))
    config = {
        "url": url,
        "message": {"op": "count", "n": 3},
        "filter": "tick|tock",
        "max_messages": 50,
        "timeout": 1,
    }
    result = await router(CallContext(), ToolCall(tool=tool(config), arguments={}))
    assert not result.is_error, result
    assert result.structured_content["stopped"] == "timeout" and result.structured_content["count"] == 3
