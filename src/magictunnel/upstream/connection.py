"""One long-lived session with one external MCP server, supervised.

A single supervisor task owns the transport and the SDK `ClientSession` (anyio needs a
context to be entered and left in the same task): it connects, negotiates the newest era the
server speaks (`server/discover`, falling back to `initialize`), lists what the server
offers, then waits until the connection ends or it is told to stop. A crash is followed by
a restart with exponential backoff. Calls use the live session; they never open one.

Server->client traffic (sampling, elicitation, roots, progress, log messages) is routed back
to the client whose request caused it: progress by the token the dispatcher stamps on each
forwarded call, requests and log messages to the in-flight call on this server (the most
recent one when several are in flight, since stdio carries no correlation for them).

The connection's parts live beside it: `state` (State, Capabilities, Listener), `routing`
(server->client traffic), `listening` (2026-07-28 change notifications), `listing` (what the
server offers, every page of it), `readiness` (waiting for it to be ready), `read_stream`
(noticing the transport's end) and `errors`; their public names are re-exported here.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any

import anyio
import anyio.abc
import mcp_types as types
from mcp.client._probe import negotiate_auto
from mcp.client.session import ClientSession
from mcp.shared.exceptions import MCPError
from mcp_types import CLIENT_CAPABILITIES_META_KEY, CONNECTION_CLOSED, INTERNAL_ERROR, REQUEST_TIMEOUT
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from magictunnel.upstream.config import ServerSpec
from magictunnel.upstream.errors import _describe
from magictunnel.upstream.listening import ChangeListening
from magictunnel.upstream.listing import Listing
from magictunnel.upstream.read_stream import _Watched
from magictunnel.upstream.readiness import Readiness
from magictunnel.upstream.routing import WIRE_ID_BASE, ClientRouting, _py_level
from magictunnel.upstream.state import Capabilities, Listener, State
from magictunnel.upstream.transports import ProcessInfo, open_transport

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_MAX",
    "CLIENT_INFO",
    "STABLE_AFTER",
    "UPSTREAM_UNAVAILABLE",
    "Capabilities",
    "ChangeListening",
    "ClientRouting",
    "Listener",
    "State",
    "UpstreamConnection",
    "_Watched",
    "_describe",
    "_py_level",
]

log = logging.getLogger("magictunnel.upstream")

CLIENT_INFO = types.Implementation(name="magictunnel", version="0.1.0")
BACKOFF_BASE = 0.5
BACKOFF_MAX = 30.0
STABLE_AFTER = 30.0  # a connection that lived this long resets the backoff
UPSTREAM_UNAVAILABLE = -32003
# the gateway's own requests: no server asks a client anything while answering them, so they are
# not counted as a caller in flight (routing.py), nor do they hold off health checks
HOUSEKEEPING = frozenset(
    {
        "ping",
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
        "resources/subscribe",
        "resources/unsubscribe",
        "logging/setLevel",
    }
)


class UpstreamConnection(Readiness, ClientRouting, ChangeListening, Listing):
    def __init__(
        self, spec: ServerSpec, listener: Listener, base_dir: str | None = None, default_timeout: float = 30.0
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.listener = listener
        self.base_dir = base_dir
        self.default_timeout = default_timeout
        self.state = State.PENDING if spec.enabled else State.DISABLED
        self.error: str | None = None
        self.protocol_version: str | None = None
        self.capabilities = Capabilities()
        self.process = ProcessInfo()
        self.restarts = 0
        self.backoffs: list[float] = []  # the most recent restart delays, seconds
        self.auth_provider: Callable[[ServerSpec], Any] | None = None
        self._url_elicitations: dict[str, Any] = {}
        self.connected_at: float | None = None
        self.last_ok: float | None = None
        self.calls = 0
        self.failures = 0
        self.malformed = 0
        self._session: ClientSession | None = None
        self._ready = anyio.Event()
        self._settled = anyio.Event()
        self._stop = anyio.Event()
        self._wake = anyio.Event()
        self._down = anyio.Event()
        self._inflight: dict[int, Any] = {}
        self.watched_uris: set[str] = set()
        self._relisten = anyio.Event()
        self._acked = anyio.Event()
        self._ids = itertools.count(1)
        self._scope: anyio.CancelScope | None = None
        self._done = anyio.Event()
        # handle -> client's log level, for handshake-era upstreams routed by in-flight call
        self.client_router: Callable[[], Any] | None = None

    # ---- facts ---------------------------------------------------------------------------
    @property
    def modern(self) -> bool:
        return self.protocol_version in MODERN_PROTOCOL_VERSIONS

    @property
    def ready(self) -> bool:
        return self.state is State.READY and self._session is not None

    def has(self, capability: str) -> bool:
        return self.capabilities.server_capabilities.get(capability) is not None

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.spec.type,
            "target": self.spec.describe(),
            "state": self.state.value,
            "error": self.error,
            "protocol_version": self.protocol_version,
            "pid": self.process.pid if self.spec.type == "stdio" and self.process.alive else None,
            "restarts": self.restarts,
            "recent_backoffs": list(self.backoffs[-5:]),
            "connected_at": self.connected_at,
            "last_ok": self.last_ok,
            "calls": self.calls,
            "failures": self.failures,
            "malformed_messages": self.malformed,
            "in_flight": len(self._inflight),
            "tools": len(self.capabilities.tools),
            "prompts": len(self.capabilities.prompts),
            "resources": len(self.capabilities.resources),
            "resource_templates": len(self.capabilities.resource_templates),
            "server_info": self.capabilities.server_info,
            "stderr_tail": list(self.process.stderr)[-5:] if self.spec.type == "stdio" else [],
        }

    # ---- lifecycle -----------------------------------------------------------------------
    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The supervisor: connect, serve, restart with backoff; returns when stopped."""
        task_status.started()
        attempt = 0
        try:
            with anyio.CancelScope() as scope:
                self._scope = scope
                while not self._stop.is_set():
                    started = time.monotonic()
                    await self._connect_and_serve()
                    if self._stop.is_set():
                        break
                    if time.monotonic() - started > STABLE_AFTER:
                        attempt = 0
                    if not self.spec.restart or self.restarts >= self.spec.max_restarts:
                        self.state = State.FAILED
                        self.error = (self.error or "connection ended") + (
                            "; restart disabled"
                            if not self.spec.restart
                            else f"; gave up after {self.restarts} restarts"
                        )
                        log.error("upstream %s: %s", self.name, self.error)
                        self._settle()  # for good: wait_started stops waiting
                        await self._wait_for_wake(None)
                        if self._stop.is_set():
                            break
                        attempt = 0
                        continue
                    delay = min(BACKOFF_BASE * (2**attempt), BACKOFF_MAX)
                    self.backoffs.append(delay)
                    del self.backoffs[:-20]
                    attempt += 1
                    self.restarts += 1
                    self.state = State.RESTARTING
                    log.warning(
                        "upstream %s: restarting in %.1fs (restart %d): %s",
                        self.name,
                        delay,
                        self.restarts,
                        self.error,
                    )
                    await self._wait_for_wake(delay)
        finally:
            self.state = State.STOPPED if self._stop.is_set() else self.state
            self._done.set()

    async def _wait_for_wake(self, delay: float | None) -> None:
        self._wake = anyio.Event()
        with anyio.move_on_after(delay if delay is not None else float("inf")):
            await self._wake.wait()

    def wake(self) -> None:
        """Retry now (a manual refresh of a failed server)."""
        self._wake.set()

    async def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._down.set()
        with anyio.move_on_after(timeout):
            await self._done.wait()
        if not self._done.is_set() and self._scope is not None:
            self._scope.cancel()
            with anyio.move_on_after(5):
                await self._done.wait()

    async def _connect_and_serve(self) -> None:
        self.state = State.STARTING if self.restarts == 0 else State.RESTARTING
        self._down = anyio.Event()
        try:
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(
                    open_transport(self.spec, self.process, self.base_dir, self._auth())
                )
                session = ClientSession(
                    read_stream=_Watched(read, self),  # type: ignore[arg-type]
                    write_stream=write,
                    sampling_callback=self._on_sampling,
                    elicitation_callback=self._on_elicitation,
                    list_roots_callback=self._on_roots,
                    logging_callback=self._on_log,
                    message_handler=self._on_message,
                    client_info=CLIENT_INFO,
                )
                await stack.enter_async_context(session)
                with anyio.fail_after(self.spec.startup_timeout):
                    if self.spec.protocol == "legacy":
                        await session.initialize()
                    else:
                        await negotiate_auto(session)
                    self.protocol_version = session.protocol_version
                    await self._list_all(session)
                self._session = session
                async with anyio.create_task_group() as tg:
                    if self.modern:
                        with anyio.move_on_after(self.spec.startup_timeout):
                            await tg.start(self._listen_loop, session)
                    self.state = State.READY
                    self.error = None
                    self.connected_at = time.time()
                    self.last_ok = time.time()
                    self._ready.set()
                    self._settle()
                    log.info(
                        "upstream %s ready (%s, %s): %d tools",
                        self.name,
                        self.spec.describe(),
                        self.protocol_version,
                        len(self.capabilities.tools),
                    )
                    await self.listener.on_ready(self)
                    await self._down.wait()
                    tg.cancel_scope.cancel()
                if not self._stop.is_set():
                    await self._await_exit(1.0)
                    self.error = self.error or self._exit_reason()
        except TimeoutError:
            self.error = f"did not start within {self.spec.startup_timeout:g}s"
        except MCPError as exc:
            self.error = f"handshake failed: {exc.error.message}"
        except (OSError, ValueError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            self.error = _describe(exc)
            log.debug("upstream %s failed", self.name, exc_info=True)
        finally:
            self._session = None
            self._not_ready()
            self._settle()
            if not self._stop.is_set():
                await self.listener.on_down(self)
        if self.error:
            tail = "; ".join(list(self.process.stderr)[-3:]) if self.spec.type == "stdio" else ""
            log.warning("upstream %s down: %s%s", self.name, self.error, f" (stderr: {tail})" if tail else "")

    def _auth(self) -> Any:
        """OAuth for an http/sse server, when the upstream OAuth feature has it configured."""
        if self.auth_provider is None or self.spec.type not in ("http", "sse"):
            return None
        return self.auth_provider(self.spec)

    def _exit_reason(self) -> str:
        if self.spec.type == "stdio":
            code = self.process.process.returncode if self.process.process is not None else None
            return f"process exited with code {code}" if code is not None else "connection closed"
        return "connection closed"

    async def _await_exit(self, timeout: float) -> None:
        """Give a dying child a moment so the error can say how it ended."""
        proc = self.process.process
        if self.spec.type != "stdio" or proc is None:
            return
        with anyio.move_on_after(timeout):
            while proc.returncode is None:
                await anyio.sleep(0.01)

    def connection_lost(self) -> None:
        self._down.set()
        if self.state is State.READY and not self._stop.is_set():
            self.state = State.RESTARTING
            self._not_ready()

    # ---- requests ------------------------------------------------------------------------
    def _unavailable(self) -> MCPError:
        why = self.error or self.state.value
        return MCPError(
            UPSTREAM_UNAVAILABLE,
            f"MCP server {self.name} is not available ({why})",
            {"server": self.name, "state": self.state.value},
        )

    async def raw_request(
        self,
        method: str,
        params: Mapping[str, Any] | None,
        *,
        timeout: float | None = None,
        handle: Any = None,
        session: ClientSession | None = None,
        on_progress: Callable[[float, float | None, str | None], Awaitable[None]] | None = None,
        client_capabilities: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request on the live session and return the raw result dict.

        Errors name the server: a timeout, a closed connection (crash) or the server's own
        JSON-RPC error all reach the caller as `MCPError`.
        """
        session = session or self._session
        if session is None:
            raise self._unavailable()
        data: dict[str, Any] = {"method": method, "params": dict(params) if params else {}}
        opts: dict[str, Any] = {"timeout": timeout or self.spec.timeout or self.default_timeout}
        if on_progress is not None:
            opts["on_progress"] = on_progress
        session._stamp(data, opts)  # type: ignore[arg-type]  # era headers/_meta, as send_request does
        if client_capabilities is not None and self.modern:
            # the upstream sees what the calling client can do, not what the gateway could relay
            data["params"]["_meta"][CLIENT_CAPABILITIES_META_KEY] = client_capabilities
        params_out = data.get("params") or None
        key = next(self._ids)
        # our own JSON-RPC id, so that a server->client message marked with it (http_correlation.py)
        # finds this call's client
        opts["request_id"] = WIRE_ID_BASE + key
        if handle is not None or method not in HOUSEKEEPING:
            self._inflight[key] = handle  # None: a call no MCP client made (the REST API)
        self.calls += 1
        try:
            result = await session._dispatcher.send_raw_request(method, params_out, opts)  # type: ignore[arg-type]
        except MCPError as exc:
            self.failures += 1
            code = exc.error.code
            if code == CONNECTION_CLOSED:
                self.connection_lost()
                await self._await_exit(0.5)
                raise MCPError(
                    INTERNAL_ERROR,
                    f"MCP server {self.name} closed the connection during {method} ({self._exit_reason()})",
                    {"server": self.name},
                ) from None
            if code == REQUEST_TIMEOUT:
                raise MCPError(
                    REQUEST_TIMEOUT,
                    f"MCP server {self.name} did not answer {method} within {opts['timeout']:g}s",
                    {"server": self.name},
                ) from None
            raise
        finally:
            self._inflight.pop(key, None)
        self.last_ok = time.time()
        return result

    async def ping(self, timeout: float = 10.0) -> float:
        started = time.perf_counter()
        if self.modern:
            # 2026-07-28 has no ping; a discover round-trip proves liveness
            session = self._session
            if session is None:
                raise self._unavailable()
            with anyio.fail_after(timeout):
                await session.send_discover(self.protocol_version or "")
        else:
            await self.raw_request("ping", None, timeout=timeout)
        self.last_ok = time.time()
        return (time.perf_counter() - started) * 1000
