"""The sse backend against a real local Server-Sent Events endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from local_http_app import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from magictunnel.backends.http_client import SharedHttpClient
from magictunnel.backends.sse import SseBackend
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext


async def events(request: Request) -> Response:
    if request.headers.get("x-api-key") != "k-1":
        return JSONResponse({"error": "no key"}, status_code=401)
    topic = request.query_params.get("topic", "all")
    finite = request.query_params.get("finite") == "1"

    async def stream() -> Any:
        yield ": comment line\n\n"
        for i in range(6 if finite else 1000):
            kind = "price" if i % 2 == 0 else "heartbeat"
            data = json.dumps({"topic": topic, "i": i, "final": i == 4})
            yield f"event: {kind}\nid: {i}\ndata: {data}\n\n"
            await asyncio.sleep(0.01)
        if not finite:
            await asyncio.sleep(30)

    return StreamingResponse(stream(), media_type="text/event-stream")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(Starlette(routes=[Route("/events", events)])) as url:
        yield url


class DictVault:
    def get_secret(self, name: str) -> str | None:
        return {"feed.key": "k-1"}.get(name)


async def run(config: dict[str, Any], args: dict[str, Any]) -> Any:
    tool = ToolDef(name="sse", routing={"type": "sse", "config": config})
    return await SseBackend(SharedHttpClient(), DictVault()).execute(tool, args, CallContext())


def cfg(base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "url": f"{base_url}/events",
        "query": {"topic": "{topic}"},
        "auth": {"type": "api_key", "credential": "feed.key", "in": "header", "name": "X-API-Key"},
        **extra,
    }


@pytest.mark.anyio
async def test_collects_n_events_of_a_type(base_url: str) -> None:
    result = await run(cfg(base_url, event="price", max_events=3), {"topic": "btc"})
    data = result.structured_content
    assert data["stopped"] == "limit" and data["count"] == 3
    assert [e["id"] for e in data["events"]] == ["0", "2", "4"]
    assert data["events"][0] == {
        "event": "price",
        "data": {"topic": "btc", "i": 0, "final": False},
        "id": "0",
    }


@pytest.mark.anyio
async def test_until_condition_and_time_limit(base_url: str) -> None:
    until = await run(cfg(base_url, until={"path": "final", "equals": True}, max_events=100), {"topic": "x"})
    assert until.structured_content["stopped"] == "until" and until.structured_content["count"] == 5
    timed = await run(cfg(base_url, filter={"path": "i", "in": [1, 3]}, window=0.5, max_events=100), {})
    assert not timed.is_error and timed.structured_content["stopped"] == "timeout"
    assert [e["data"]["i"] for e in timed.structured_content["events"]] == [1, 3]


@pytest.mark.anyio
async def test_stream_end_and_http_errors(base_url: str) -> None:
    ended = await run(cfg(base_url, query={"finite": "1"}, max_events=100), {})
    assert ended.structured_content["stopped"] == "closed" and ended.structured_content["count"] == 6
    denied = await run({"url": f"{base_url}/events"}, {})
    assert denied.is_error and denied.content[0].text.startswith("HTTP 401")


def test_check_config() -> None:
    assert SseBackend().check_config({"url": "ftp://x", "max_events": -1, "event": 3}) == [
        "url: required, an http:// or https:// URL",
        "event: expected an event type or a list of them",
        "max_events: expected a positive integer",
    ]
