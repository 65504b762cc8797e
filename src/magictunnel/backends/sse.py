"""`sse` backend: subscribe to a Server-Sent Events stream and collect events.

routing.config:

- `url` (str, required): templated like the `http` backend's URL; `query` and `headers`
  (mappings of templates) and `auth` (vault credential injection) as for `http`.
- `method` (`GET` default, or `POST` with `body`, a JSON template).
- `event` (str or list, optional): only events of these types (`message` is the type of an
  event without an `event:` field).
- `filter` / `until` (conditions on the event data, see `backends/collect.py`).
- `max_events` (int, default 10): stop after this many collected events.
- `window` (seconds): how long to collect; reaching it is not an error (`stopped: "timeout"`)
  unless `until` is set and never matched. Default 10, or 90% of `timeout` when that is set.
- `timeout` (seconds): the gateway's hard limit for the whole call; keep it above `window`.

The result is `{events: [{event, data, id}], count, stopped: "limit"|"until"|"timeout"|"closed"}`
with JSON data parsed. A non-2xx response is an `isError` result.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from mcp_types import CallToolResult

from magictunnel.backends.base import BackendError, error_result, json_result
from magictunnel.backends.collect import matches, parse
from magictunnel.backends.http import render_headers, render_query, render_url
from magictunnel.backends.http_client import SharedHttpClient, apply_auth, build_request, redact
from magictunnel.backends.templating import render_value
from magictunnel.backends.websocket import check_collect, limits
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext

DEFAULT_MAX_EVENTS = 10


class SseBackend:
    type = "sse"

    def __init__(self, client: SharedHttpClient | None = None, vault: Any = None) -> None:
        self.client = client or SharedHttpClient()
        self.vault = vault

    def check_config(self, config: dict[str, Any]) -> list[str]:
        problems = []
        url = config.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "{")):
            problems.append("url: required, an http:// or https:// URL")
        if str(config.get("method", "GET")).upper() not in ("GET", "POST"):
            problems.append("method: expected GET or POST")
        event = config.get("event")
        if event is not None and not isinstance(event, str | list):
            problems.append("event: expected an event type or a list of them")
        value = config.get("max_events", DEFAULT_MAX_EVENTS)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append("max_events: expected a positive integer")
        if "query" in config and not isinstance(config["query"], dict):
            problems.append("query: expected a mapping")
        return problems + check_collect({k: v for k, v in config.items() if k != "max_events"})

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        config = tool.routing.config
        url = render_url(str(config["url"]), arguments)
        headers = render_headers(config.get("headers") or {}, arguments)
        headers.setdefault("Accept", "text/event-stream")
        params = render_query(config.get("query") or {}, arguments)
        cookies: dict[str, str] = {}
        secrets = await apply_auth(config.get("auth"), self.vault, headers, params, cookies)
        method = str(config.get("method", "GET")).upper()
        kwargs: dict[str, Any] = {}
        if method == "POST" and "body" in config:
            kwargs["json"] = render_value(config["body"], arguments)
        max_events, window = limits(config, "max_events", DEFAULT_MAX_EVENTS)
        types = config.get("event")
        wanted = {types} if isinstance(types, str) else set(types) if isinstance(types, list) else None
        client = self.client.get(verify=bool(config.get("verify_tls", True)))
        request = build_request(
            client,
            method,
            url,
            headers=headers,
            params=params,
            cookies=cookies,
            timeout=window,
            secrets=secrets,
            **kwargs,
        )
        events: list[dict[str, Any]] = []
        stopped = "timeout"
        try:
            async with asyncio.timeout(window):
                response = await client.send(request, stream=True)
                try:
                    if response.status_code >= 300:
                        body = (await response.aread())[:500].decode("utf-8", "replace")
                        return error_result(
                            redact(f"HTTP {response.status_code}: {body}", secrets),
                            status=response.status_code,
                        )
                    stopped = "closed"
                    async for event in _events(response):
                        if wanted is not None and event["event"] not in wanted:
                            continue
                        raw = event["data"]
                        value = parse(raw)
                        if not matches(config.get("filter"), raw, value):
                            continue
                        events.append({**event, "data": value})
                        if config.get("until") is not None and matches(config["until"], raw, value):
                            stopped = "until"
                            break
                        if len(events) >= max_events:
                            stopped = "limit"
                            break
                finally:
                    await response.aclose()
        except TimeoutError:
            stopped = "timeout"
        except httpx.HTTPError as exc:
            raise BackendError(
                redact(f"{method} {url} failed: {type(exc).__name__}: {exc}", secrets)
            ) from None
        result = {"events": events, "count": len(events), "stopped": stopped}
        if config.get("until") is not None and stopped != "until":
            return error_result(
                f"no event matched `until` before the stream {stopped} ({len(events)} collected)", **result
            )
        return json_result(result)


async def _events(response: httpx.Response) -> Any:
    """Parse the text/event-stream format: `event:`, `data:` (joined by newlines), `id:`."""
    data: list[str] = []
    event_type = "message"
    event_id: str | None = None
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield {"event": event_type, "data": "\n".join(data), "id": event_id}
            data, event_type = [], "message"
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value or "message"
        elif name == "id":
            event_id = value
    if data:
        yield {"event": event_type, "data": "\n".join(data), "id": event_id}
