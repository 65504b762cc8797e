"""The HTTP application: MCP transports (Streamable HTTP, SSE, WebSocket) and the REST API.

Feature routers are listed in ROUTERS ("module:attribute" of a FastAPI APIRouter) and
included at start; a router that fails to import is reported by name and skipped.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from magictunnel import __version__
from magictunnel.core.gateway import Gateway
from magictunnel.server.auth_gate import AuthChallenge, AuthGate, authenticate_headers
from magictunnel.server.identity import connection_identity, connection_transport
from magictunnel.server.mcp_server import build_server
from magictunnel.server.sessions import SessionRegistry
from magictunnel.server.transports.event_store import MemoryEventStore
from magictunnel.server.transports.security import transport_security
from magictunnel.server.transports.websocket import serve_websocket
from magictunnel.web.errors import install_error_handlers

log = logging.getLogger("magictunnel.web")

ROUTERS: list[str] = [
    "magictunnel.web.routes_core:router",
    "magictunnel.web.routes_auth:router",
    "magictunnel.web.routes_generators:router",
    "magictunnel.web.routes_security:router",
    "magictunnel.web.routes_servers:router",
]


def create_app(gateway: Gateway) -> FastAPI:
    cfg = gateway.config.server
    sessions = SessionRegistry()
    server = build_server(gateway, sessions)
    security = transport_security(cfg)
    manager = StreamableHTTPSessionManager(
        app=server,
        event_store=MemoryEventStore(),
        security_settings=security,
        max_request_body_size=cfg.max_request_body_bytes,
        session_idle_timeout=cfg.session_idle_timeout,
    )
    sse = SseServerTransport(
        "/messages/", security_settings=security, max_request_body_size=cfg.max_request_body_bytes
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        unsubscribe = gateway.catalog.subscribe(sessions.on_catalog_event)
        await gateway.start()
        try:
            async with manager.run():
                yield
        finally:
            unsubscribe()
            sessions.listen_handler.close()
            await gateway.stop()

    app = FastAPI(
        title="MagicTunnel",
        version=__version__,
        lifespan=lifespan,
        description="MCP gateway: MCP transports, tool REST API and administration.",
    )
    app.state.gateway = gateway
    app.state.sessions = sessions
    app.state.mcp_server = server
    install_error_handlers(app)

    async def handle_sse(scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state") or {}
        connection_identity.set(state.get("mcp_identity"))
        connection_transport.set("sse")
        try:
            async with sse.connect_sse(scope, receive, send) as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())
        except ValueError:
            return  # request validation failed; the transport already answered

    async def handle_ws(websocket: WebSocket) -> None:
        try:
            identity = await authenticate_headers(gateway, dict(websocket.headers))
        except AuthChallenge as challenge:
            await websocket.close(
                code=4401 if challenge.status == 401 else 4403, reason=challenge.message[:120]
            )
            return
        if not _ws_origin_ok(websocket, security):
            await websocket.close(code=4403, reason="origin not allowed")
            return
        await serve_websocket(websocket, server, identity, cfg.max_request_body_bytes)

    streamable = AuthGate(StreamableHTTPASGIApp(manager), gateway, "streamable_http")
    app.router.routes.extend(
        [
            Route("/mcp", endpoint=streamable, methods=["GET", "POST", "DELETE"]),
            Route("/mcp/", endpoint=streamable, methods=["GET", "POST", "DELETE"]),
            Route("/sse", endpoint=AuthGate(handle_sse, gateway, "sse"), methods=["GET"]),
            Mount("/messages", app=AuthGate(sse.handle_post_message, gateway, "sse")),
        ]
    )
    if cfg.websocket:
        app.router.routes.append(WebSocketRoute("/mcp/ws", endpoint=handle_ws))
    app.state.router_errors = include_routers(app)
    return app


def include_routers(app: FastAPI) -> dict[str, str]:
    errors: dict[str, str] = {}
    for dotted in ROUTERS:
        module_name, _, attr = dotted.partition(":")
        try:
            router = getattr(importlib.import_module(module_name), attr or "router")
        except Exception as exc:  # one broken feature router must not take the API down
            log.error("router %s failed to load: %s", dotted, exc)
            errors[dotted] = f"{type(exc).__name__}: {exc}"
            continue
        app.include_router(router)
    return errors


def _ws_origin_ok(websocket: WebSocket, security: Any) -> bool:
    origin = websocket.headers.get("origin")
    if not origin:
        return True  # non-browser clients send no Origin
    for allowed in security.allowed_origins:
        if allowed == origin:
            return True
        if (
            allowed.endswith(":*")
            and origin.startswith(allowed[:-1])
            and origin[len(allowed) - 1 :].isdigit()
        ):
            return True
    return False
