"""`websocket` backend: connect, send a templated message, collect replies until a condition,
a count or a time limit.

routing.config:

- `url` (str, required): `ws://` or `wss://`, templated like the `http` backend's URL.
- `message` (optional): what to send after connecting, rendered against the arguments; a
  mapping or list is sent as JSON text, a string as text. `messages` (list) sends several.
- `headers` (mapping name -> template) and `auth` (credential injection from the vault as
  for `http`; `api_key` in query goes into the URL) for the handshake.
- `filter` (condition, optional): only matching replies are collected.
- `until` (condition, optional): stop after the first (collected) reply that matches it.
- `max_messages` (int, default 1 when neither `until` nor `window` is set, else 100).
- `window` (seconds): how long to collect. Reaching it is not an error (`stopped: "timeout"`),
  except with `until` set and never matched. Default 10, or 90% of `timeout` when that is set.
- `timeout` (seconds): the gateway's hard limit for the whole call (connect + collect); keep it
  above `window`.
- `max_message_bytes` (int, default 1 MiB).

Conditions are described in `backends/collect.py`. The result is
`{messages: [...], count, stopped: "until"|"limit"|"timeout"|"closed"}` (JSON replies parsed).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from mcp_types import CallToolResult
from websockets.asyncio.client import connect

from magictunnel.backends.base import BackendError, error_result, json_result
from magictunnel.backends.collect import check_condition, matches, parse
from magictunnel.backends.http import render_headers, render_url
from magictunnel.backends.http_client import apply_auth, check_auth, redact
from magictunnel.backends.templating import render_value
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext

DEFAULT_WINDOW = 10.0


def limits(
    config: dict[str, Any], max_key: str = "max_messages", default_max: int | None = None
) -> tuple[int, float]:
    """(message limit, collection window in seconds); the window stays inside the hard `timeout`."""
    if default_max is None:
        default_max = 1 if "until" not in config and "window" not in config else 100
    window = config.get("window")
    if window is None:
        hard = config.get("timeout")
        window = min(DEFAULT_WINDOW, 0.9 * float(hard)) if hard else DEFAULT_WINDOW
    return int(config.get(max_key, default_max)), float(window)


def check_collect(config: dict[str, Any]) -> list[str]:
    problems = check_condition(config.get("filter"), "filter") + check_condition(config.get("until"), "until")
    value = config.get("max_messages", 1)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        problems.append("max_messages: expected a positive integer")
    for key in ("window", "timeout"):
        if key in config and (not isinstance(config[key], int | float) or config[key] <= 0):
            problems.append(f"{key}: expected a positive number of seconds")
    if "headers" in config and not isinstance(config["headers"], dict):
        problems.append("headers: expected a mapping of header name to value")
    return problems + check_auth(config.get("auth"))


class WebSocketBackend:
    type = "websocket"

    def __init__(self, vault: Any = None) -> None:
        self.vault = vault

    def check_config(self, config: dict[str, Any]) -> list[str]:
        problems = []
        url = config.get("url")
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://", "{")):
            problems.append("url: required, a ws:// or wss:// URL")
        if "messages" in config and not isinstance(config["messages"], list):
            problems.append("messages: expected a list of messages to send")
        return problems + check_collect(config)

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        config = tool.routing.config
        url = render_url(str(config["url"]), arguments)
        headers = render_headers(config.get("headers") or {}, arguments)
        params: list[tuple[str, str]] = []
        cookies: dict[str, str] = {}
        secrets = await apply_auth(config.get("auth"), self.vault, headers, params, cookies)
        if cookies:
            jar = "; ".join(f"{k}={v}" for k, v in cookies.items())
            headers["Cookie"] = f"{headers['Cookie']}; {jar}" if headers.get("Cookie") else jar
        if params:
            from urllib.parse import urlencode

            url += ("&" if "?" in url else "?") + urlencode(params)
        outgoing = list(config.get("messages") or [])
        if "message" in config:
            outgoing.insert(0, config["message"])
        max_messages, window = limits(config)
        max_bytes = int(config.get("max_message_bytes", 1024 * 1024))
        collected: list[Any] = []
        stopped = "timeout"
        try:
            async with connect(
                url, additional_headers=headers, open_timeout=window, max_size=max_bytes, proxy=None
            ) as ws:
                for template in outgoing:
                    rendered = render_value(template, arguments)
                    await ws.send(rendered if isinstance(rendered, str) else json.dumps(rendered))
                loop = asyncio.get_running_loop()
                deadline = loop.time() + window
                while True:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        raw = await asyncio.wait_for(ws.recv(), remaining)
                    except TimeoutError:
                        break
                    except websockets.ConnectionClosed:
                        stopped = "closed"
                        break
                    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
                    value = parse(text)
                    if not matches(config.get("filter"), text, value):
                        continue
                    collected.append(value)
                    if config.get("until") is not None and matches(config["until"], text, value):
                        stopped = "until"
                        break
                    if len(collected) >= max_messages:
                        stopped = "limit"
                        break
        except (OSError, websockets.InvalidURI, websockets.InvalidHandshake, TimeoutError) as exc:
            raise BackendError(
                redact(f"cannot connect to {url}: {type(exc).__name__}: {exc}", secrets)
            ) from None
        result = {"messages": collected, "count": len(collected), "stopped": stopped}
        if config.get("until") is not None and stopped != "until":
            return error_result(
                f"no message matched `until` before the connection {stopped} ({len(collected)} collected)",
                **result,
            )
        return json_result(result)
