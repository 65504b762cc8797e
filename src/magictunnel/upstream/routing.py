"""Server->client traffic from an upstream, routed back to the client whose call caused it.

Sampling, elicitation and roots requests and log messages go to the client whose call they
belong to. On Streamable HTTP the transport marks each one with the id of the call whose SSE
stream it came on (http_correlation.py), and it goes to that call's client. Elsewhere nothing on
the wire ties such a message to a call (stdio and legacy SSE carry no correlation; an HTTP
server may also use its standalone GET stream): it goes to the client whose call is in flight,
and when calls from several clients are in flight at once the gateway does not guess. A request
is refused with an error that says why, and a log message stays in the gateway's log. Guessing
would show one client another's question, or hand its answer to the wrong call. List-changed and
resource-updated notifications go to the connection's owner.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.client.session import ClientRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR

from magictunnel.upstream.errors import _describe
from magictunnel.upstream.http_correlation import RELATED_META_KEY
from magictunnel.upstream.transports import OversizeMessageError

if TYPE_CHECKING:
    from magictunnel.upstream.config import ServerSpec
    from magictunnel.upstream.state import Listener

log = logging.getLogger("magictunnel.upstream")

#: the JSON-RPC id of the gateway's n-th request to an upstream is WIRE_ID_BASE + n: far above the
#: SDK's own counter, and an integer, which every server accepts
WIRE_ID_BASE = 1_000_000_000


class ClientRouting:
    """Mixin for `UpstreamConnection`: the SDK callbacks for server->client traffic."""

    name: str
    spec: ServerSpec
    listener: Listener
    malformed: int
    _inflight: dict[int, Any]
    _url_elicitations: dict[str, Any]

    def current_handle(self) -> Any:
        """The client whose call is in flight here: the most recent call's handle when every call
        in flight comes from one MCP client; None when no call is in flight, several callers'
        are, or one was made by no MCP client (a tool call through the REST API)."""
        handles = list(self._inflight.values())
        if not handles or any(h is None for h in handles):
            return None
        who = client_identity(handles[-1])
        return handles[-1] if all(client_identity(h) == who for h in handles) else None

    def _unroutable(self, method: str) -> str:
        handles = list(self._inflight.values())
        callers = len({client_identity(h) for h in handles if h is not None}) + handles.count(None)
        if callers > 1:
            return (
                f"{method}: calls from {callers} clients are in flight on {self.name} and nothing "
                "in the message says which one it is for, so the gateway asks none of them"
            )
        if handles:
            return (
                f"{method}: the call in flight on {self.name} was made by no MCP client "
                "(the REST API, say), so there is no one to ask"
            )
        return f"{method}: no client request in flight on {self.name} to route it to"

    def _route(self, payload: dict[str, Any] | None) -> tuple[Any, bool]:
        """(handle, marked): the client a message is for and whether the transport said which
        call it belongs to. Removes the transport's mark from `payload` (never forwarded)."""
        meta = payload.get("_meta") if payload is not None else None
        if not isinstance(meta, dict) or RELATED_META_KEY not in meta:
            return self.current_handle(), False
        related = meta.pop(RELATED_META_KEY)
        if not meta:
            payload.pop("_meta")  # type: ignore[union-attr]
        if self.spec.type != "http":  # written by the server itself, not by our transport
            return self.current_handle(), False
        key = related - WIRE_ID_BASE if isinstance(related, int) else None
        return self._inflight.get(key) if key is not None else None, True

    async def _to_client(self, method: str, params: Any, meta: Any = None) -> Any:
        payload = (
            params.model_dump(by_alias=True, mode="json", exclude_none=True) if params is not None else None
        )
        # roots/list has no params: its mark arrives in the request's _meta, which is not forwarded
        handle, marked = self._route(payload if params is not None else {"_meta": dict(meta or {})})
        if handle is None:
            message = (
                f"{method}: the call it belongs to on {self.name} is not in flight, or has no client to ask"
                if marked
                else self._unroutable(method)
            )
            if self._inflight:
                log.warning("upstream %s: %s", self.name, message)
            return types.ErrorData(code=types.INVALID_REQUEST, message=message)
        if method == "elicitation/create" and isinstance(payload, dict) and payload.get("mode") == "url":
            # remember who was sent to the URL: the upstream's completion notice goes to them
            self._url_elicitations[str(payload.get("elicitationId"))] = handle
            while len(self._url_elicitations) > 1000:
                self._url_elicitations.pop(next(iter(self._url_elicitations)))
        forward = getattr(handle, "forward_request", None)
        try:
            if forward is not None:
                raw = await forward(method, payload)
            else:
                raw = await handle.request(method, payload)
        except MCPError as exc:
            return exc.error
        except Exception as exc:
            return types.ErrorData(code=INTERNAL_ERROR, message=f"{method} failed: {_describe(exc)}")
        return raw

    async def _on_sampling(self, ctx: ClientRequestContext, params: types.CreateMessageRequestParams) -> Any:
        raw = await self._to_client("sampling/createMessage", params)
        if isinstance(raw, types.ErrorData):
            return raw
        return (
            types.CreateMessageResult.model_validate(raw)
            if "content" in raw and not isinstance(raw.get("content"), list)
            else types.CreateMessageResultWithTools.model_validate(raw)
        )

    async def _on_elicitation(self, ctx: ClientRequestContext, params: types.ElicitRequestParams) -> Any:
        raw = await self._to_client("elicitation/create", params)
        return raw if isinstance(raw, types.ErrorData) else types.ElicitResult.model_validate(raw)

    async def _on_roots(self, ctx: ClientRequestContext) -> Any:
        raw = await self._to_client("roots/list", None, ctx.meta)
        return raw if isinstance(raw, types.ErrorData) else types.ListRootsResult.model_validate(raw)

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        payload = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        handle, _ = self._route(payload)
        if handle is not None:
            try:
                await handle.notify("notifications/message", payload)
            except Exception as exc:
                log.debug("upstream %s: log message not delivered: %s", self.name, exc)
            return
        log.log(_py_level(params.level), "[%s] %s", self.name, params.data)

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, Exception):
            self.malformed += 1
            log.warning(
                "upstream %s: %s",
                self.name,
                message if isinstance(message, OversizeMessageError | ValueError) else _describe(message),
            )
            return
        root = getattr(message, "root", message)
        method = getattr(root, "method", None)
        if method in (
            "notifications/tools/list_changed",
            "notifications/prompts/list_changed",
            "notifications/resources/list_changed",
        ):
            await self.listener.on_lists_changed(self)
        elif method == "notifications/resources/updated":
            await self.listener.on_resource_updated(self, str(root.params.uri))
        elif method == "notifications/elicitation/complete":
            handle = self._url_elicitations.pop(str(root.params.elicitation_id), None)
            if handle is not None:
                await self.listener.on_client_notification(
                    self,
                    handle,
                    method,
                    root.params.model_dump(by_alias=True, mode="json", exclude_none=True),
                )


def client_identity(handle: Any) -> Any:
    """Which client a call in flight came from: its MCP session when it has one, else its
    connection (a stand-in handle carries the real client's key)."""
    return getattr(handle, "session_id", None) or getattr(handle, "key", id(handle))


def _py_level(level: str) -> int:
    return {
        "debug": 10,
        "info": 20,
        "notice": 20,
        "warning": 30,
        "error": 40,
        "critical": 50,
        "alert": 50,
        "emergency": 50,
    }.get(level, 20)
