"""`magictunnel serve` (HTTP: Streamable HTTP, SSE, WebSocket, REST) and `magictunnel stdio`."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import typer

from magictunnel.cli.common import ConfigOption, err_console, load_or_exit, setup_logging
from magictunnel.config.models import RuntimeMode
from magictunnel.server.transports.security import LOOPBACK

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("stdio")(stdio)


def serve(
    config: Path | None = ConfigOption,
    host: str | None = typer.Option(None, help="bind address (default from config: 127.0.0.1)"),
    port: int | None = typer.Option(None, min=0, max=65535, help="port (default from config: 3001; 0 = any)"),
    mode: RuntimeMode | None = typer.Option(None, help="runtime mode: proxy or advanced"),
    log_level: str | None = typer.Option(None, help="log level: debug, info, warning, error"),
) -> None:
    """Run the gateway over HTTP: /mcp (Streamable HTTP), /sse, /mcp/ws and the REST API."""
    import uvicorn

    from magictunnel.core.gateway import Gateway
    from magictunnel.web.app import create_app

    loaded = load_or_exit(config)
    cfg = loaded.config
    setup_logging(log_level or cfg.logging.level)
    for warning in loaded.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    if host:
        cfg.server.host = host
    if mode is not None:
        cfg.deployment.runtime_mode = mode
    gateway = Gateway(loaded)
    refuse_unsafe(gateway)
    app = create_app(gateway)
    port_file = os.environ.get("MAGICTUNNEL_PORT_FILE")
    bind_port = cfg.server.port if port is None else port
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=cfg.server.host,
            port=bind_port,
            log_level="warning",
            lifespan="on",
            ws="websockets-sansio",
        )
    )
    asyncio.run(_run(server, gateway, port_file))


async def _run(server: object, gateway: object, port_file: str | None) -> None:
    import uvicorn

    from magictunnel.core.gateway import Gateway
    from magictunnel.core.heap import freeze_startup_heap
    from magictunnel.core.services import ServiceStartError

    assert isinstance(server, uvicorn.Server) and isinstance(gateway, Gateway)
    try:
        await gateway.start()  # before binding: a required service failing is reported, not a traceback
    except ServiceStartError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        await gateway.stop()
        raise typer.Exit(1) from None
    freeze_startup_heap()
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        sockets = [s for srv in server.servers for s in srv.sockets]
        if sockets:
            host, port = sockets[0].getsockname()[:2]
            err_console.print(f"MagicTunnel listening on http://{host}:{port} (MCP at /mcp)", highlight=False)
            if port_file:
                await asyncio.to_thread(Path(port_file).write_text, str(port))
    await task
    if not server.started:
        raise typer.Exit(1)


def refuse_unsafe(gateway: object) -> None:
    """Advanced mode must not be exposed unauthenticated beyond loopback."""
    from magictunnel.core.gateway import Gateway

    assert isinstance(gateway, Gateway)
    cfg = gateway.config
    if cfg.runtime_mode is RuntimeMode.ADVANCED and cfg.server.host not in LOOPBACK:
        auth = gateway.extensions.get("client_auth")
        if auth is None or not getattr(auth, "required", False):
            err_console.print(
                f"[red]error:[/red] refusing to expose advanced mode on {cfg.server.host} without client "
                "authentication: enable auth (auth.enabled: true) or bind to 127.0.0.1",
                highlight=False,
            )
            raise typer.Exit(2)


def stdio(
    config: Path | None = ConfigOption,
    mode: RuntimeMode | None = typer.Option(None, help="runtime mode: proxy or advanced"),
    log_level: str | None = typer.Option(None, help="log level (logs go to stderr)"),
) -> None:
    """Serve MCP over stdin/stdout (for Claude Desktop and other local clients)."""
    loaded = load_or_exit(config)
    cfg = loaded.config
    setup_logging(log_level or ("warning" if cfg.logging.level == "info" else cfg.logging.level))
    if mode is not None:
        cfg.deployment.runtime_mode = mode
    asyncio.run(_stdio(loaded))


async def _stdio(loaded: object) -> None:
    from mcp.server.stdio import stdio_server

    from magictunnel.core.gateway import Gateway
    from magictunnel.core.heap import freeze_startup_heap
    from magictunnel.server.identity import connection_transport
    from magictunnel.server.mcp_server import build_server
    from magictunnel.server.sessions import SessionRegistry
    from magictunnel.server.transports.stdio import pipe_stdio

    gateway = Gateway(loaded)  # type: ignore[arg-type]
    sessions = SessionRegistry()
    server = build_server(gateway, sessions)
    unsubscribe = gateway.catalog.subscribe(sessions.on_catalog_event)
    connection_transport.set("stdio")

    async def terminate() -> None:
        # SIGTERM (a client's shutdown escalation, `docker stop`): stop the gateway as end of input
        # would (audit flushed, upstream servers closed), then leave at once: where stdin is not a pipe
        # the SDK reads it in a worker thread that no cancellation can interrupt.
        log.info("stdio: SIGTERM received; shutting down")
        try:
            await started.wait()  # a half-started gateway would leave upstream servers behind
            await gateway.stop()
        finally:
            logging.shutdown()
            os._exit(0)

    started = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(terminate(), name="sigterm"))
    try:
        try:
            await gateway.start()
        finally:
            started.set()
        freeze_startup_heap()
        async with (
            pipe_stdio() as pipes,
            stdio_server(*(pipes or (None, None))) as (read_stream, write_stream),  # type: ignore[arg-type]
        ):
            await server.run(read_stream, write_stream, server.create_initialization_options())
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        unsubscribe()
        await gateway.stop()
