from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from magictunnel.config.loader import LoadedConfig
from magictunnel.config.models import MagicTunnelConfig
from magictunnel.core.gateway import Gateway

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EVERYTHING = str(FIXTURES / "everything_server.py")
MISBEHAVING = str(FIXTURES / "misbehaving_server.py")


def stdio_server(*args: str, **extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [EVERYTHING, *args], **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def running_gateway(
    tmp_path: Path,
    servers: dict[str, Any] | None = None,
    *,
    start: bool = True,
    wait: bool = True,
    **external: Any,
) -> AsyncIterator[Gateway]:
    ext = {"config_file": None, "servers": servers or {}, **external}
    config = MagicTunnelConfig.model_validate(
        {
            "registry": {"paths": [], "hot_reload": False},
            "storage": {"data_dir": str(tmp_path / "data")},
            "external_mcp": ext,
        }
    )
    gateway = Gateway(LoadedConfig(config=config, path=None), base_dir=tmp_path)
    if start:
        await gateway.start()
    try:
        manager = gateway.extensions["upstream_manager"]
        if wait:
            for conn in manager.connections.values():
                await conn.wait_started(30)  # ready, or failed for good
        yield gateway
    finally:
        await gateway.stop()


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def http_fixture() -> Iterator[str]:
    """The everything fixture over Streamable HTTP, in its own process."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, EVERYTHING, "--transport", "http", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        _wait_port(port, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def sse_fixture() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, EVERYTHING, "--transport", "sse", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, proc)
        yield f"http://127.0.0.1:{port}/sse"
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fixture exited with {proc.returncode}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("fixture did not listen in time")
