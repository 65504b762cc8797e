"""What a tool execution can end with, and the 2026-07-28 input round trip as the pipeline sees it.

Most calls end with a `CallToolResult`. A call forwarded to an external MCP server for a
2026-07-28 client may instead end with an `InputRequiredResult`: the server (or the gateway, for
a handshake-era server that asked for sampling, elicitation or roots mid-call) needs the client's
input first. The client answers the `inputRequests` and retries the same tools/call carrying
`inputResponses` and the echoed `requestState`; that retry walks the whole pipeline again as an
ordinary call, so every stage checks it anew.

Stages that look at results use `input_required_of` (which also sees the round a local tool
carries inside a `CallToolResult`, smart discovery's `as_input_required()`), and `input_retry`
to tell a retry from a first call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mcp_types import CLIENT_CAPABILITIES_META_KEY, CallToolResult, InputRequiredResult

from magictunnel.pipeline.context import CallContext

#: what a pipeline step returns
ToolResult = CallToolResult | InputRequiredResult

INPUT_PARAMS = ("inputResponses", "requestState")


def input_required_of(result: Any) -> InputRequiredResult | None:
    """The input_required round `result` is or carries (smart discovery's), else None."""
    if isinstance(result, InputRequiredResult):
        return result
    carried = getattr(result, "as_input_required", None)
    if callable(carried):
        round_ = carried()
        if isinstance(round_, InputRequiredResult):
            return round_
    return None


def session_params(session: Any) -> Mapping[str, Any]:
    """The raw params of the MCP request a client handle is serving ({} when there is none)."""
    rctx = getattr(session, "request_context", None) if session is not None else None
    params = getattr(rctx, "params", None) if rctx is not None else None
    return params if isinstance(params, Mapping) else {}


def session_capabilities(session: Any) -> dict[str, Any] | None:
    """What the client declared: its 2026-07-28 request `_meta`, else its session's; None if neither."""
    if session is None:
        return None
    meta = session_params(session).get("_meta")
    if isinstance(meta, Mapping) and isinstance(meta.get(CLIENT_CAPABILITIES_META_KEY), Mapping):
        return dict(meta[CLIENT_CAPABILITIES_META_KEY])
    caps = getattr(session, "capabilities", None)
    return dict(caps) if isinstance(caps, Mapping) else None


def request_params(ctx: CallContext) -> Mapping[str, Any]:
    """The raw params of the MCP request behind this call ({} when there is none)."""
    return session_params(ctx.session)


@dataclass(frozen=True)
class InputRetry:
    """A 2026-07-28 retry: the client's answers to an input_required round and the echoed state."""

    responses: Mapping[str, Any]
    has_state: bool

    @property
    def keys(self) -> list[str]:
        return sorted(str(k) for k in self.responses)


def input_retry(ctx: CallContext) -> InputRetry | None:
    """The inputResponses/requestState this call carries (a 2026-07-28 retry), else None."""
    if not getattr(ctx.session, "is_modern", False):
        return None
    params = request_params(ctx)
    if not any(k in params for k in INPUT_PARAMS):
        return None
    responses = params.get("inputResponses")
    return InputRetry(
        responses=responses if isinstance(responses, Mapping) else {},
        has_state=params.get("requestState") is not None,
    )


def describe_input_requests(round_: InputRequiredResult) -> dict[str, dict[str, Any]]:
    """key -> {method, message?}: what a round asks for, without its opaque state."""
    out: dict[str, dict[str, Any]] = {}
    for key, request in (round_.input_requests or {}).items():
        item: dict[str, Any] = {"method": request.method}
        message = getattr(getattr(request, "params", None), "message", None)
        if isinstance(message, str):
            item["message"] = message
        out[str(key)] = item
    return out


class _RequestView:
    """The client's request context with other params; everything else is the real one's."""

    def __init__(self, real: Any, params: dict[str, Any]) -> None:
        self._real = real
        self.params = params

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _SessionView:
    """A client's session (handle) whose current request carries other params."""

    def __init__(self, real: Any, params: dict[str, Any]) -> None:
        self._real = real
        self.request_context = _RequestView(getattr(real, "request_context", None), params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def session_with_params(session: Any, params: dict[str, Any]) -> Any:
    """`session` as seen by code that must read `params` as its current request's params."""
    return _SessionView(session, params)


def with_input_responses(ctx: CallContext, responses: Mapping[str, Any]) -> CallContext:
    """A context whose request carries `responses` as its inputResponses (the requestState and every
    other param unchanged): what the stages after one that rewrote the client's answers see.
    The notes are shared with `ctx`, so audit still sees what later stages note."""
    params = {**request_params(ctx), "inputResponses": dict(responses)}
    return replace(ctx, session=_SessionView(ctx.session, params))
