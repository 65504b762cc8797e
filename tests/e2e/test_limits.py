"""Per-call timeouts (tool > server > global precedence) and client cancellation reach the backend."""

from __future__ import annotations

import os
import time
from pathlib import Path

import anyio
import pytest
from mcp import Client

from tests.support.gateway import run_gateway

pytestmark = pytest.mark.anyio

SLOW = """
tools:
  - name: slow
    description: Sleeps, then writes its PID
    inputSchema: {type: object, properties: {seconds: {type: number}, pidfile: {type: string}}}
    routing:
      type: subprocess
      config:
        command: sh
        args: ["-c", "echo $$ > \\"$1\\"; sleep \\"$0\\"", "{seconds}", "{pidfile}"]
  - name: slow_routing_timeout
    description: Routing-level timeout
    routing: {type: subprocess, config: {command: sleep, args: ["10"], timeout: 0.5}}
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _workdir(tmp_path: Path) -> Path:
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "slow.yaml").write_text(SLOW)
    return tmp_path


async def test_tool_timeout_override(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path)
    config = {"server": {"timeout": 30}, "tools": {"slow": {"timeout": 0.5}}}
    with run_gateway(workdir, config) as gw:
        async with Client(gw.mcp_url, mode="legacy") as client:
            started = time.monotonic()
            result = await client.call_tool("slow", {"seconds": 20, "pidfile": str(tmp_path / "pid1")})
            assert result.is_error and "timed out" in result.content[0].text
            assert time.monotonic() - started < 10
            pid = int((tmp_path / "pid1").read_text())
            with anyio.fail_after(5):
                while _alive(pid):
                    await anyio.sleep(0.05)
            # routing-level timeout applies when no per-tool override exists
            result = await client.call_tool("slow_routing_timeout", {})
            assert result.is_error and "timed out" in result.content[0].text


async def test_cancellation_kills_the_process(tmp_path: Path) -> None:
    workdir = _workdir(tmp_path)
    pidfile = tmp_path / "pid2"
    with run_gateway(workdir) as gw:
        async with Client(gw.mcp_url, mode="legacy") as client:
            with anyio.move_on_after(1.5):
                await client.call_tool("slow", {"seconds": 30, "pidfile": str(pidfile)})
            pid = int(pidfile.read_text())
            with anyio.fail_after(10):
                while _alive(pid):
                    await anyio.sleep(0.05)
            # the session is still usable after a cancelled call
            result = await client.call_tool("slow", {"seconds": 0, "pidfile": str(tmp_path / "pid3")})
            assert not result.is_error
