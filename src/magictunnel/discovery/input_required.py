"""Asking a 2026-07-28 client for missing parameters: an `input_required` round instead of elicitation.

A 2026-07-28 client cannot be sent `elicitation/create`. When it declares the elicitation
capability (per-request `_meta`), smart discovery answers with an `input_required` result holding
one form elicitation request, and a `requestState` the client echoes on its retry of the same
tools/call together with `inputResponses`.

The design is stateless: `requestState` is an HMAC-signed (per-process random key), expiring token
carrying the tool the gateway chose and the arguments it had already mapped, bound to the exact
discovery call (tool name, arguments, client id). A client can read it but cannot change the tool,
the arguments or the binding without breaking the signature, nor use it after it expires or for a
different call. Each one is answered once: a replay of an answered requestState is refused (this
process remembers the answered ones until they expire). Anything wrong with it is a JSON-RPC
invalid-params error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, replace
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    InputRequiredResult,
    TextContent,
)
from pydantic import PrivateAttr

from magictunnel.discovery.documents import ToolDoc
from magictunnel.discovery.elicit import elicitation_params
from magictunnel.discovery.params import Mapping
from magictunnel.pipeline.context import CallContext
from magictunnel.pipeline.results import (
    INPUT_PARAMS,
    request_params,
    session_capabilities,
    session_with_params,
)

#: the key of the one input request in an `input_required` result
RESPONSE_KEY = "discovery_parameters"
STATE_TTL = 600.0
_VERSION = 1


# ---- the client ---------------------------------------------------------------------------
def is_modern(ctx: CallContext) -> bool:
    return bool(getattr(ctx.session, "is_modern", False))


def can_ask_modern(ctx: CallContext) -> bool:
    """A 2026-07-28 client that declared elicitation: it can be asked with an input_required round."""
    return is_modern(ctx) and (session_capabilities(ctx.session) or {}).get("elicitation") is not None


def pending_input(ctx: CallContext) -> tuple[Any, Any] | None:
    """(requestState, inputResponses) when this call is a 2026-07-28 retry, else None."""
    if not is_modern(ctx):
        return None
    params = request_params(ctx)
    if params.get("requestState") is None:
        return None
    return params.get("requestState"), params.get("inputResponses")


def without_input(ctx: CallContext) -> CallContext:
    """A context for running the chosen tool after an input_required round."""
    # the retry's inputResponses/requestState answered discovery's question: they must not reach
    # the server of the tool discovery runs
    if ctx.session is None:
        return ctx
    params = {k: v for k, v in request_params(ctx).items() if k not in INPUT_PARAMS}
    return replace(ctx, session=session_with_params(ctx.session, params))


class AskingResult(CallToolResult):
    """smart_tool_discovery's answer when it asks a 2026-07-28 client for parameters.

    Through the pipeline (audit, sanitization) it is a plain result saying what was asked for;
    the MCP tools/call handler answers the client with the `input_required` result it carries
    (`as_input_required`). It exists only in process: no server or client can send one.
    """

    _input_required: InputRequiredResult | None = PrivateAttr(default=None)

    def as_input_required(self) -> InputRequiredResult | None:
        return self._input_required


# ---- requestState -------------------------------------------------------------------------
@dataclass
class Pending:
    """What discovery had decided when it asked: restored from a verified requestState."""

    tool: str
    mapping: Mapping
    meta: dict[str, Any]
    nonce: str = ""
    expires: float = 0.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _invalid(reason: str) -> MCPError:
    return MCPError(INVALID_PARAMS, f"requestState {reason}; call smart_tool_discovery again without it")


class InputRounds:
    """Issues and verifies the signed requestState of discovery's input_required rounds."""

    def __init__(self, key: bytes | None = None, ttl: float = STATE_TTL) -> None:
        self._key = key or secrets.token_bytes(32)
        self.ttl = ttl
        self._spent: dict[str, float] = {}  # nonce -> expiry of requestStates already answered
        self._lock = threading.Lock()

    @staticmethod
    def binding(tool_name: str, arguments: dict[str, Any], ctx: CallContext) -> str:
        """Ties a requestState to one discovery call: the same tool, arguments and client."""
        call = {"tool": tool_name, "arguments": arguments, "client": ctx.identity.client_id}
        text = json.dumps(call, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def issue(self, binding: str, tool: str, mapping: Mapping, meta: dict[str, Any]) -> str:
        state = {
            "v": _VERSION,
            "n": secrets.token_urlsafe(12),
            "b": binding,
            "exp": time.time() + self.ttl,
            "tool": tool,
            "arguments": mapping.arguments,
            "sources": mapping.sources,
            "missing": mapping.missing,
            "invalid": mapping.invalid,
            "meta": meta,
        }
        body = _b64(json.dumps(state, separators=(",", ":"), ensure_ascii=False, default=str).encode())
        return f"{body}.{self._sign(body)}"

    def verify(self, token: Any, binding: str) -> Pending:
        if not isinstance(token, str) or token.count(".") != 1:
            raise _invalid("is malformed")
        body, signature = token.split(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise _invalid("was not issued by this gateway or was altered")
        try:
            state = json.loads(_unb64(body))
        except ValueError:
            raise _invalid("is malformed") from None
        if not isinstance(state, dict) or state.get("v") != _VERSION:
            raise _invalid("is malformed")
        if not isinstance(state.get("exp"), int | float) or state["exp"] < time.time():
            raise _invalid("has expired")
        if not hmac.compare_digest(str(state.get("b")), binding):
            raise _invalid("belongs to a different request")
        nonce = str(state.get("n") or "")
        with self._lock:
            if nonce in self._spent:
                raise _invalid("was already answered")
        mapping = Mapping(
            arguments=dict(state.get("arguments") or {}),
            missing=list(state.get("missing") or []),
            invalid=list(state.get("invalid") or []),
            sources=dict(state.get("sources") or {}),
        )
        return Pending(
            tool=str(state.get("tool")),
            mapping=mapping,
            meta=dict(state.get("meta") or {}),
            nonce=nonce,
            expires=float(state["exp"]),
        )

    def spend(self, pending: Pending) -> None:
        """Mark a verified requestState as answered: a replay of it can't run the tool again."""
        now = time.time()
        with self._lock:
            if pending.nonce in self._spent:
                raise _invalid("was already answered")
            for nonce in [n for n, exp in self._spent.items() if exp < now]:  # expired ones can't verify
                del self._spent[nonce]
            self._spent[pending.nonce] = pending.expires

    def ask(self, binding: str, doc: ToolDoc, mapping: Mapping, meta: dict[str, Any]) -> AskingResult:
        params = elicitation_params(doc, mapping)
        asking = InputRequiredResult.model_validate(
            {
                "resultType": "input_required",
                "inputRequests": {RESPONSE_KEY: {"method": "elicitation/create", "params": params}},
                "requestState": self.issue(binding, doc.key, mapping, meta),
            }
        )
        wanted = params["requestedSchema"]["required"]
        summary = {"status": "input_required", "tool": doc.key, "asked_for": wanted}
        result = AskingResult(
            content=[TextContent(text=f"Asked the client for {', '.join(wanted)} to run {doc.key}.")],
            structured_content=summary,
        )
        result._input_required = asking
        return result


def the_reply(responses: Any) -> Any:
    """The client's answer to discovery's input request (an elicitation result)."""
    if not isinstance(responses, AbcMapping) or RESPONSE_KEY not in responses:
        raise MCPError(INVALID_PARAMS, f"inputResponses is missing {RESPONSE_KEY!r}")
    return responses[RESPONSE_KEY]
