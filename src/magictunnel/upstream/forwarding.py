"""Forwarding client requests to the server that owns what they name, and the answers back.

`Forwarder` is published as `gateway.extensions["upstream"]`; the MCP server handlers call:

- `get_prompt(prompt: PromptDef, arguments: dict, handle) -> GetPromptResult | InputRequiredResult`
- `read_resource(uri: str, handle) -> ReadResourceResult | InputRequiredResult | None`
  (None: no external server owns the URI)
- `complete(params: CompleteRequestParams, handle) -> CompleteResult | None`
- `subscribe(uri, handle)`, `unsubscribe(uri, handle)`: resources/subscribe fan-out; only the
  subscribed clients get `notifications/resources/updated`
- `set_log_level(level, handle)`: logging/setLevel to every handshake-era upstream

`handle` is the lead's `magictunnel.server.client_handle.ClientHandle` (or None for calls
that did not come over MCP). Tool calls arrive through the pipeline and the
`external_mcp` backend (`call_tool`).

2026-07-28 upstreams answer interactive requests with `input_required` results. A
2026-07-28 client gets them as they are and retries with `inputResponses`/`requestState`,
which are passed upstream verbatim; for a handshake-era client the gateway itself sends each
embedded request (sampling, elicitation, roots) to the client and retries upstream.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types as types
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, LOG_LEVEL_META_KEY

from magictunnel.catalog.models import PromptDef
from magictunnel.pipeline.results import INPUT_PARAMS, session_capabilities, session_params
from magictunnel.upstream.exchange import Exchange, ExchangeHandle, Exchanges
from magictunnel.upstream.naming import template_matches

if TYPE_CHECKING:
    from magictunnel.upstream.connection import UpstreamConnection
    from magictunnel.upstream.manager import UpstreamManager

log = logging.getLogger("magictunnel.upstream.forwarding")

RESOURCE_NOT_FOUND = -32002
MAX_INPUT_ROUNDS = 10


def _is_modern(handle: Any) -> bool:
    return bool(getattr(handle, "is_modern", False))


class Forwarder:
    def __init__(self, manager: UpstreamManager) -> None:
        self.manager = manager
        # uri -> {handle.key: handle}
        self.subscriptions: dict[str, dict[Any, Any]] = {}
        # handle.key -> level, for handshake-era clients that asked for log messages
        self.log_levels: dict[Any, str] = {}
        self.exchanges = Exchanges()

    # ---- helpers -------------------------------------------------------------------------
    def _meta_for(self, handle: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        client_meta = session_params(handle).get("_meta")
        if isinstance(client_meta, Mapping) and LOG_LEVEL_META_KEY in client_meta:
            meta[LOG_LEVEL_META_KEY] = client_meta[LOG_LEVEL_META_KEY]
        elif handle is not None and getattr(handle, "key", None) in self.log_levels:
            meta[LOG_LEVEL_META_KEY] = self.log_levels[handle.key]
        return meta

    def _progress_for(self, handle: Any) -> Any:
        if handle is None or getattr(handle, "progress_token", None) is None:
            return None

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            try:
                await handle.send_progress(progress, total, message)
            except Exception as exc:
                log.debug("progress not delivered: %s", exc)

        return on_progress

    async def request(
        self,
        conn: UpstreamConnection,
        method: str,
        params: dict[str, Any],
        handle: Any,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """An interactive request (tools/call, prompts/get, resources/read) with input_required handling."""
        client_params = session_params(handle)
        modern_client = _is_modern(handle)
        if modern_client and not conn.modern:
            return await self._exchange(conn, method, params, handle, client_params, timeout)
        if modern_client:
            for key in INPUT_PARAMS:
                if key in client_params:
                    params[key] = client_params[key]
        meta = self._meta_for(handle)
        if meta and conn.modern:
            params["_meta"] = {**(params.get("_meta") or {}), **meta}
        on_progress = self._progress_for(handle)
        caps = session_capabilities(handle)
        raw = await conn.raw_request(
            method, params, timeout=timeout, handle=handle, on_progress=on_progress, client_capabilities=caps
        )
        rounds = 0
        while raw.get("resultType") == "input_required" and not modern_client:
            rounds += 1
            if rounds > MAX_INPUT_ROUNDS or handle is None:
                raise MCPError(
                    INVALID_PARAMS,
                    f"MCP server {conn.name} needs client input the gateway "
                    "could not obtain" + ("" if handle else " (no MCP client to ask)"),
                )
            responses = await self._ask_client(conn, raw.get("inputRequests") or {}, handle)
            retry = {k: v for k, v in params.items() if k not in INPUT_PARAMS}
            if responses:
                retry["inputResponses"] = responses
            if raw.get("requestState") is not None:
                retry["requestState"] = raw["requestState"]
            if not responses:
                await anyio.sleep(0.05)
            raw = await conn.raw_request(
                method,
                retry,
                timeout=timeout,
                handle=handle,
                on_progress=on_progress,
                client_capabilities=caps,
            )
        return raw

    async def _exchange(
        self,
        conn: UpstreamConnection,
        method: str,
        params: dict[str, Any],
        handle: Any,
        client_params: Mapping[str, Any],
        timeout: float | None,
    ) -> dict[str, Any]:
        """A 2026-07-28 client on a handshake-era upstream: its requests become input_required rounds."""
        target = params.get("name") or params.get("uri")
        wait = timeout or conn.spec.timeout or conn.default_timeout
        ex = self.exchanges.take(client_params.get("requestState"), method, target)
        if ex is not None:
            self.exchanges.answer(ex, client_params.get("inputResponses"))
            return await self.exchanges.next(ex, wait)
        ex = Exchange(method, target)
        proxy = ExchangeHandle(handle, ex)
        caps = session_capabilities(handle)

        async def run() -> None:
            try:
                raw = await conn.raw_request(
                    method, params, timeout=wait, handle=proxy, client_capabilities=caps
                )
                await ex.send.send(("done", None, raw))
            except MCPError as exc:
                await ex.send.send(("error", None, exc))
            except Exception as exc:
                await ex.send.send(("error", None, MCPError(types.INTERNAL_ERROR, f"{method} failed: {exc}")))

        self.manager.spawn(run)
        return await self.exchanges.next(ex, wait)

    async def _ask_client(
        self, conn: UpstreamConnection, requests: Mapping[str, Any], handle: Any
    ) -> dict[str, Any]:
        responses: dict[str, Any] = {}

        async def one(key: str, request: Mapping[str, Any]) -> None:
            method = request.get("method")
            if not isinstance(method, str):
                raise MCPError(INVALID_PARAMS, f"MCP server {conn.name} sent a malformed input request")
            responses[key] = await handle.request(method, request.get("params"))

        async with anyio.create_task_group() as tg:
            for key, request in requests.items():
                if isinstance(request, Mapping):
                    tg.start_soon(one, key, request)
        return responses

    # ---- tools ---------------------------------------------------------------------------
    async def call_tool(
        self, server: str, name: str, arguments: dict[str, Any], handle: Any, timeout: float | None
    ) -> types.CallToolResult | types.InputRequiredResult:
        conn = await self.manager.connection_for_call(server)
        raw = await self.request(conn, "tools/call", {"name": name, "arguments": arguments}, handle, timeout)
        if raw.get("resultType") == "input_required":
            return types.InputRequiredResult.model_validate(raw)
        return _tool_result(raw, conn.name)

    # ---- prompts -------------------------------------------------------------------------
    async def get_prompt(self, prompt: PromptDef, arguments: dict[str, Any], handle: Any) -> Any:
        conn = await self.manager.connection_for_call(prompt.server or "")
        params: dict[str, Any] = {"name": prompt.original_name or prompt.name}
        if arguments:
            params["arguments"] = {k: v if isinstance(v, str) else str(v) for k, v in arguments.items()}
        raw = await self.request(conn, "prompts/get", params, handle)
        if raw.get("resultType") == "input_required":
            return types.InputRequiredResult.model_validate(raw)
        return types.GetPromptResult.model_validate(raw)

    # ---- resources -----------------------------------------------------------------------
    def owners_of(self, uri: str) -> list[UpstreamConnection]:
        """Servers that may own `uri`: the one listing it, then template matches, then any with resources."""
        catalog = self.manager.gateway.catalog
        listed = catalog.resources.get(uri)
        conns = self.manager.connections
        if listed is not None and listed.server in conns:
            return [conns[listed.server]]
        by_template = [
            conns[t.server]
            for t in catalog.resource_templates
            if t.server in conns and template_matches(t.uri_template, uri)
        ]
        if by_template:
            return list(dict.fromkeys(by_template))
        for conn in conns.values():
            if any(r.get("uri") == uri for r in conn.capabilities.resources):
                return [conn]
        return [c for c in conns.values() if c.ready and c.has("resources")]

    async def read_resource(self, uri: str, handle: Any) -> Any:
        owners = self.owners_of(uri)
        if not owners:
            return None
        last: MCPError | None = None
        for conn in owners:
            if not conn.ready:
                last = conn._unavailable()
                continue
            try:
                raw = await self.request(conn, "resources/read", {"uri": uri}, handle)
            except MCPError as exc:
                last = exc
                if exc.error.code in (RESOURCE_NOT_FOUND, INVALID_PARAMS) and len(owners) > 1:
                    continue
                raise
            if raw.get("resultType") == "input_required":
                return types.InputRequiredResult.model_validate(raw)
            return types.ReadResourceResult.model_validate(raw)
        if last is not None:
            raise last
        return None

    async def subscribe(self, uri: str, handle: Any) -> None:
        owners = [c for c in self.owners_of(uri) if c.ready]
        if not owners:
            return
        key = getattr(handle, "key", id(handle))
        first = uri not in self.subscriptions
        self.subscriptions.setdefault(uri, {})[key] = handle
        if first:
            for conn in owners:
                if conn.modern:
                    await conn.watch(uri)
                elif _subscribable(conn):
                    await conn.raw_request("resources/subscribe", {"uri": uri})

    async def unsubscribe(self, uri: str, handle: Any) -> None:
        key = getattr(handle, "key", id(handle))
        subs = self.subscriptions.get(uri)
        if subs is None:
            return
        subs.pop(key, None)
        if subs:
            return
        del self.subscriptions[uri]
        for conn in self.owners_of(uri):
            if conn.modern:
                await conn.unwatch(uri)
            elif conn.ready and _subscribable(conn):
                try:
                    await conn.raw_request("resources/unsubscribe", {"uri": uri})
                except MCPError as exc:
                    log.debug("unsubscribe %s on %s: %s", uri, conn.name, exc)

    async def resource_updated(self, conn: UpstreamConnection, uri: str) -> None:
        """An upstream said `uri` changed: tell exactly the clients subscribed to it."""
        subs = self.subscriptions.get(uri) or {}
        sessions = self.manager.gateway.extensions.get("sessions")
        for key, handle in list(subs.items()):
            # the connection's own channel first: the subscribe request's channel is closed by now
            if sessions is not None and await sessions.notify_one(
                key, "notifications/resources/updated", {"uri": uri}
            ):
                continue
            try:
                await handle.notify("notifications/resources/updated", {"uri": uri})
            except Exception:  # the client is gone
                subs.pop(key, None)
        bus = getattr(sessions, "bus", None)
        if bus is not None:  # 2026-07-28 listeners
            from mcp.shared.subscriptions import ResourceUpdated

            await bus.publish(ResourceUpdated(uri=uri))

    # ---- completion, logging -------------------------------------------------------------
    async def complete(self, params: types.CompleteRequestParams, handle: Any) -> types.CompleteResult | None:
        ref = params.ref
        catalog = self.manager.gateway.catalog
        conn = None
        wire = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        if isinstance(ref, types.PromptReference):
            prompt = catalog.prompts.get(ref.name)
            if prompt is None or prompt.server is None:
                return None
            conn = self.manager.connections.get(prompt.server)
            wire["ref"]["name"] = prompt.original_name or prompt.name
        else:
            uri = ref.uri
            for template in catalog.resource_templates:
                if template.uri_template == uri and template.server is not None:
                    conn = self.manager.connections.get(template.server)
                    break
            if conn is None:
                owners = self.owners_of(uri)
                conn = owners[0] if owners else None
        if conn is None:
            return None
        if not conn.has("completions"):
            return types.CompleteResult.model_validate({"completion": {"values": [], "hasMore": False}})
        if not conn.ready:
            raise conn._unavailable()
        wire.pop("_meta", None)
        raw = await conn.raw_request("completion/complete", wire, handle=handle)
        return types.CompleteResult.model_validate(raw)

    async def set_log_level(self, level: str, handle: Any) -> None:
        if handle is not None:
            self.log_levels[getattr(handle, "key", id(handle))] = level
        for conn in list(self.manager.connections.values()):
            if conn.ready and not conn.modern and conn.has("logging"):
                try:
                    await conn.raw_request("logging/setLevel", {"level": level})
                except MCPError as exc:
                    log.debug("logging/setLevel on %s: %s", conn.name, exc)


def _subscribable(conn: UpstreamConnection) -> bool:
    resources = conn.capabilities.server_capabilities.get("resources") or {}
    return bool(resources.get("subscribe"))


def _tool_result(raw: dict[str, Any], server: str) -> types.CallToolResult:
    try:
        return types.CallToolResult.model_validate(raw)
    except ValueError as exc:
        raise MCPError(
            types.INTERNAL_ERROR,
            f"malformed tools/call result from MCP server {server}: {str(exc).splitlines()[0]}",
        ) from None
