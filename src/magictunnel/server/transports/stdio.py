"""stdin/stdout for `magictunnel stdio` without a worker thread per line.

The SDK's `stdio_server` reads each line and writes each message through `anyio.wrap_file`, one
worker-thread hop per line read, per write and per flush (bench/forwarding, stdio client: at
concurrency 8 that held the gateway to 48 % of direct throughput). When stdin and stdout are
pipes or sockets, as an MCP client that spawns the gateway makes them, `pipe_stdio` serves them
on the event loop and hands them to `stdio_server` as its streams, so the SDK's framing and
JSON-RPC parsing stay the same.

Like the SDK, it keeps the wire to itself: the descriptors are duplicated to private ones, fd 0
then reads the null device and fd 1 writes to stderr (a stray print or a child process cannot
corrupt the protocol stream), and both are restored on exit. Anything else (a terminal, a file,
an unusual platform) yields None and the caller falls back to the SDK's threaded transport;
a terminal must never be switched to non-blocking mode, which would outlive the process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import anyio

log = logging.getLogger("magictunnel.stdio")
READ_CHUNK = 1 << 16


class PipeLines:
    """`async for line in PipeLines(reader)`: the lines of the stream, newline included."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buffer = bytearray()

    def __aiter__(self) -> PipeLines:
        return self

    async def __anext__(self) -> str:
        while (end := self._buffer.find(b"\n")) < 0:
            chunk = await self._reader.read(READ_CHUNK)
            if not chunk:
                if not self._buffer:
                    raise StopAsyncIteration
                end = len(self._buffer) - 1  # a last line without its newline
                break
            self._buffer += chunk
        line = bytes(self._buffer[: end + 1])
        del self._buffer[: end + 1]
        return line.decode("utf-8", errors="replace")


class PipeWriter:
    """`await write(text)` then `await flush()`, as the SDK's stdio writer calls them. A client
    that stopped reading (closed its end of the pipe) ends the writer quietly: the SDK's writer
    takes `anyio.ClosedResourceError` as the end of the stream, and the gateway stops when stdin
    closes, instead of dying with a broken-pipe traceback."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        if self._writer.transport.is_closing():
            raise _client_gone(None)
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise _client_gone(exc) from exc


def _client_gone(exc: BaseException | None) -> anyio.ClosedResourceError:
    log.info("stdio: the client stopped reading stdout (%s); no more messages go out", exc or "pipe closed")
    return anyio.ClosedResourceError()


def _is_pipe(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@asynccontextmanager
async def pipe_stdio() -> AsyncIterator[tuple[PipeLines, PipeWriter] | None]:
    """(stdin lines, stdout writer) on the event loop, or None where they are not pipes."""
    if sys.platform == "win32" or not (_is_pipe(0) and _is_pipe(1)):
        yield None
        return
    import fcntl

    loop = asyncio.get_running_loop()
    saved_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3)
    saved_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3)
    transports: list[asyncio.BaseTransport] = []
    try:
        stdin = os.fdopen(fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 3), "rb", buffering=0)
        stdout = os.fdopen(fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 3), "wb", buffering=0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)
        reader = asyncio.StreamReader()
        read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
        transports.append(read_transport)
        write_transport, write_protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()), stdout
        )
        transports.append(write_transport)
        writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
        yield PipeLines(reader), PipeWriter(writer)
        with suppress(Exception):
            await writer.drain()
    finally:
        for transport in transports:
            transport.close()
        for saved, fd in ((saved_in, 0), (saved_out, 1)):
            with suppress(OSError):
                os.set_blocking(saved, True)  # the pipe transports made the shared description non-blocking
                os.dup2(saved, fd)
            os.close(saved)
