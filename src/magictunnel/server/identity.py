"""Which client is calling, per request, whatever the transport.

HTTP transports authenticate at the door (server/auth_gate.py) and leave the identity on
the request's state; connection-oriented transports (stdio, WebSocket, SSE streams) set it
once for the connection in a context variable that the handlers inherit.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from magictunnel.pipeline.context import Identity

connection_identity: ContextVar[Identity | None] = ContextVar("magictunnel_identity", default=None)
connection_transport: ContextVar[str | None] = ContextVar("magictunnel_transport", default=None)

LOCAL_IDENTITY = Identity(client_id="local", authenticated=False, auth_method="none")


def identity_from_request(request: Any) -> Identity:
    if request is not None:
        state = getattr(request, "state", None)
        ident = getattr(state, "mcp_identity", None) if state is not None else None
        if isinstance(ident, Identity):
            return ident
    ident = connection_identity.get()
    return ident if ident is not None else LOCAL_IDENTITY


def transport_from_request(request: Any) -> str:
    if request is not None:
        state = getattr(request, "state", None)
        transport = getattr(state, "mcp_transport", None) if state is not None else None
        if isinstance(transport, str):
            return transport
    return connection_transport.get() or "streamable_http"


def remote_addr(request: Any) -> str | None:
    client = getattr(request, "client", None)
    return getattr(client, "host", None) if client is not None else None
