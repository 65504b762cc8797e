"""Transports to external MCP servers: stdio, Streamable HTTP, legacy SSE and WebSocket.

Each is an async context manager yielding the SDK's (read_stream, write_stream) pair, so the
SDK's `ClientSession` runs on top of any of them.

- stdio is our own small variant of `mcp.client.stdio.stdio_client`: it exposes the child's
  PID (status pages, orphan checks), captures stderr into a ring buffer instead of writing
  it to ours, and rejects oversize lines (a misbehaving server cannot make us buffer an
  unbounded line). Shutdown follows the SDK/spec sequence (close stdin, wait, kill the
  process group) using the SDK's own helpers.
- http is the SDK's Streamable HTTP transport, marking each server->client message with the
  call whose SSE stream it came on (http_correlation.py); sse is the SDK's `sse_client`.
- ws: the SDK has no WebSocket client; `websocket_client` adapts the `websockets` package
  (subprotocol "mcp", one JSON-RPC message per text frame).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
import anyio.lowlevel
import mcp_types as types
from anyio.abc import Process
from mcp.client._transport import TransportStreams
from mcp.client.stdio import _drain_stdout, _stop_server_process, get_default_environment
from mcp.shared.message import SessionMessage

from magictunnel.upstream.config import ServerSpec

log = logging.getLogger("magictunnel.upstream.transport")

STDERR_LINES = 200


class OversizeMessageError(ValueError):
    pass


class ProcessInfo:
    """What we know about a stdio server's child process."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.returncode: int | None = None
        self.stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self.process: Process | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None


def parse_message(line: str | bytes) -> SessionMessage | Exception:
    try:
        message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValueError as exc:
        text = line if isinstance(line, str) else line.decode("utf-8", "replace")
        return ValueError(f"malformed message from server: {text[:200]!r}: {str(exc).splitlines()[0]}")
    return SessionMessage(message)


def resolve_command(command: str, env: dict[str, str]) -> str:
    if os.sep in command:
        return command
    found = shutil.which(command, path=env.get("PATH"))
    if found is None:
        raise FileNotFoundError(f"command not found: {command}")
    return found


@asynccontextmanager
async def stdio_transport(
    spec: ServerSpec, info: ProcessInfo, base_dir: str | None = None
) -> AsyncIterator[TransportStreams]:
    env = get_default_environment() | {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("NODE_", "NPM_", "PYTHON", "VIRTUAL_ENV", "LANG", "LC_"))
    }
    env |= spec.env
    command = resolve_command(spec.command or "", env)
    cwd = spec.cwd
    if cwd and base_dir and not os.path.isabs(cwd):
        cwd = os.path.join(base_dir, cwd)
    process = await anyio.open_process(
        [command, *spec.args], env=env, cwd=cwd or None, stderr=-1, start_new_session=True
    )
    info.process = process
    info.pid = process.pid
    info.returncode = None
    limit = spec.max_message_bytes
    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    writer_done = anyio.Event()

    async def stdout_reader() -> None:
        assert process.stdout is not None
        buffer = bytearray()
        skipping = False
        try:
            async with read_writer:
                try:
                    async for chunk in process.stdout:
                        start = 0
                        while True:
                            nl = chunk.find(b"\n", start)
                            if nl < 0:
                                if not skipping:
                                    buffer += chunk[start:]
                                    if len(buffer) > limit:
                                        buffer.clear()
                                        skipping = True
                                        await read_writer.send(
                                            OversizeMessageError(
                                                f"server {spec.name} sent a message over {limit} bytes; dropped"
                                            )
                                        )
                                break
                            if skipping:
                                skipping = False
                            else:
                                buffer += chunk[start:nl]
                                if len(buffer) > limit:
                                    await read_writer.send(
                                        OversizeMessageError(
                                            f"server {spec.name} sent a message over {limit} bytes; dropped"
                                        )
                                    )
                                elif buffer.strip():
                                    await read_writer.send(parse_message(bytes(buffer)))
                            buffer.clear()
                            start = nl + 1
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    pass
                finally:
                    await _drain_stdout(process)  # type: ignore[arg-type]
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, ConnectionError):
            pass

    async def stderr_reader() -> None:
        assert process.stderr is not None
        pending = b""
        with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError):
            async for chunk in process.stderr:
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()[-4096:]
                for raw in lines:
                    text = raw.decode("utf-8", "replace").rstrip()[:2000]
                    if text:
                        info.stderr.append(text)
                        log.debug("[%s stderr] %s", spec.name, text)

    async def stdin_writer() -> None:
        assert process.stdin is not None
        try:
            async with write_reader:
                async for message in write_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                    await process.stdin.send(data.encode())
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await read_writer.aclose()
        finally:
            writer_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stdout_reader)
        tg.start_soon(stdin_writer)
        tg.start_soon(stderr_reader)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):
                read_stream.close()
                write_stream.close()
                with anyio.move_on_after(0.5):
                    await writer_done.wait()
                await _stop_server_process(process)  # type: ignore[arg-type]
                if process.stderr is not None:
                    with suppress(Exception):
                        await process.stderr.aclose()
                info.returncode = process.returncode
                for stream in (read_stream, write_stream, read_writer, write_reader):
                    await stream.aclose()
            tg.cancel_scope.cancel()
    await anyio.lowlevel.cancel_shielded_checkpoint()


@asynccontextmanager
async def websocket_transport(spec: ServerSpec) -> AsyncIterator[TransportStreams]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    read_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, write_reader = anyio.create_memory_object_stream[SessionMessage](0)
    async with connect(
        spec.url or "",
        subprotocols=["mcp"],  # type: ignore[list-item]
        additional_headers=spec.headers or None,
        max_size=spec.max_message_bytes,
        open_timeout=spec.startup_timeout,
    ) as ws:

        async def reader() -> None:
            async with read_writer:
                try:
                    async for frame in ws:
                        await read_writer.send(parse_message(frame))
                except ConnectionClosed as exc:
                    if exc.rcvd is not None and exc.rcvd.code == 1009:
                        with suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                            await read_writer.send(
                                OversizeMessageError(
                                    f"server {spec.name} sent a message over {spec.max_message_bytes} bytes"
                                )
                            )
                except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                    pass

        async def writer() -> None:
            async with write_reader:
                try:
                    async for message in write_reader:
                        payload = message.message.model_dump(by_alias=True, mode="json", exclude_unset=True)
                        await ws.send(json.dumps(payload, separators=(",", ":")))
                except (ConnectionClosed, anyio.ClosedResourceError, anyio.BrokenResourceError):
                    await read_writer.aclose()

        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            tg.start_soon(writer)
            try:
                yield read_stream, write_stream
            finally:
                tg.cancel_scope.cancel()
                with anyio.CancelScope(shield=True):
                    for stream in (read_stream, write_stream):
                        await stream.aclose()


@asynccontextmanager
async def http_transport(spec: ServerSpec, auth: Any = None) -> AsyncIterator[TransportStreams]:
    from mcp.shared._httpx_utils import create_mcp_http_client

    from magictunnel.upstream.http_correlation import correlating_http_client

    async with (
        create_mcp_http_client(headers=spec.headers or None, auth=auth) as client,
        correlating_http_client(
            spec.url or "", http_client=client, max_sse_event_size=spec.max_message_bytes
        ) as streams,
    ):
        yield streams


@asynccontextmanager
async def sse_transport(spec: ServerSpec, auth: Any = None) -> AsyncIterator[TransportStreams]:
    from mcp.client.sse import sse_client

    async with sse_client(
        spec.url or "", headers=spec.headers or None, timeout=spec.startup_timeout, auth=auth
    ) as streams:
        yield streams


def open_transport(spec: ServerSpec, info: ProcessInfo, base_dir: str | None = None, auth: Any = None) -> Any:
    """`auth`: an httpx2 Auth for http/sse servers that use OAuth (from the upstream OAuth feature)."""
    if spec.type == "stdio":
        return stdio_transport(spec, info, base_dir)
    if spec.type == "http":
        return http_transport(spec, auth)
    if spec.type == "sse":
        return sse_transport(spec, auth)
    return websocket_transport(spec)
