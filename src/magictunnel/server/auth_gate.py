"""Client authentication at the door of every MCP transport (and the REST tool API).

The authenticator is `gateway.extensions["client_auth"]` when the auth feature is
installed. Its contract:

    required: bool                                  # must every request authenticate?
    async authenticate(headers: Mapping[str, str]) -> Identity | None
        # None: no credentials presented; raise AuthChallenge for bad/insufficient ones
    def challenge(error: str | None = None) -> AuthChallenge
        # the 401 to send when credentials are missing (WWW-Authenticate with resource_metadata)

Without an authenticator every caller is the local, unauthenticated identity; the serve
command refuses advanced mode on a non-loopback address in that case.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from magictunnel.pipeline.context import Identity
from magictunnel.server.identity import LOCAL_IDENTITY, connection_identity


@dataclass
class AuthChallenge(Exception):
    status: int = 401
    message: str = "authentication required"
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


async def authenticate_headers(gateway: Any, headers: Mapping[str, str]) -> Identity:
    """The caller's identity, or AuthChallenge when it must (re)authenticate."""
    auth = gateway.extensions.get("client_auth")
    if auth is None:
        return LOCAL_IDENTITY
    identity = await auth.authenticate(headers)
    if identity is not None:
        return identity
    if auth.required:
        raise auth.challenge()
    return LOCAL_IDENTITY


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class AuthGate:
    """ASGI wrapper: authenticate, then leave identity and transport on the request state."""

    def __init__(self, app: ASGIApp, gateway: Any, transport: str) -> None:
        self.app = app
        self.gateway = gateway
        self.transport = transport

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        try:
            identity = await authenticate_headers(self.gateway, _headers(scope))
        except AuthChallenge as challenge:
            if scope["type"] == "websocket":
                await send(
                    {
                        "type": "websocket.close",
                        "code": 4401 if challenge.status == 401 else 4403,
                        "reason": challenge.message[:120],
                    }
                )
                return
            body = json.dumps(
                {
                    "error": "unauthorized" if challenge.status == 401 else "forbidden",
                    "error_description": challenge.message,
                }
            ).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            headers += [
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in challenge.headers.items()
            ]
            await send({"type": "http.response.start", "status": challenge.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        state = scope.setdefault("state", {})
        state["mcp_identity"] = identity
        state["mcp_transport"] = self.transport
        # also for code that sees no request, e.g. the SDK's Mcp-Param schema lookup
        token = connection_identity.set(identity)
        try:
            await self.app(scope, receive, send)
        finally:
            connection_identity.reset(token)
