"""Real fixture processes behind a real Gateway: calls, crashes, hangs, misbehaviour, shutdown."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from magictunnel.catalog.catalog import CatalogEvent
from magictunnel.pipeline.context import CallContext
from magictunnel.upstream.connection import State
from tests.upstream.conftest import MISBEHAVING, pid_alive, running_gateway, stdio_server

pytestmark = pytest.mark.anyio


def text(result) -> str:
    return result.content[0].text


async def call(gateway, name: str, args: dict | None = None):
    return await gateway.call_tool(name, args or {}, CallContext())


async def test_calls_reuse_one_session_and_send_the_original_name(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, {"fx": stdio_server()}) as gw:
        tool = gw.catalog.get_tool("fx_add")
        assert tool is not None and tool.original_name == "add" and tool.server == "fx"
        assert text(await call(gw, "fx_add", {"a": 2, "b": 40})) == "42"
        pids = {text(await call(gw, "fx_pid")) for _ in range(5)}
        assert len(pids) == 1
        conn = gw.extensions["upstream_manager"].connections["fx"]
        assert conn.restarts == 0 and str(conn.process.pid) in pids
        assert conn.protocol_version == "2026-07-28"  # the newest era the fixture speaks


async def test_crash_mid_call_names_the_server_then_restarts(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, {"crashy": stdio_server()}) as gw:
        conn = gw.extensions["upstream_manager"].connections["crashy"]
        first_pid = conn.process.pid
        with pytest.raises(MCPError) as info:
            await call(gw, "crashy_crash")
        assert "crashy" in info.value.error.message and "code 3" in info.value.error.message
        with anyio.fail_after(20):  # woken by the restart (0.5 s back-off), not at the timeout
            assert await conn.wait_ready(120)
        assert conn.restarts == 1
        assert text(await call(gw, "crashy_add", {"a": 1, "b": 1})) == "2"
        assert conn.process.pid != first_pid and not pid_alive(first_pid)


async def test_hanging_call_times_out_and_gateway_stays_responsive(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, {"hung": stdio_server(timeout=1)}) as gw:
        async with anyio.create_task_group() as tg:
            outcome: dict[str, object] = {}

            async def hang() -> None:
                try:
                    outcome["hang"] = await call(gw, "hung_hang")
                except MCPError as exc:
                    outcome["hang"] = exc

            tg.start_soon(hang)
            await anyio.sleep(0.2)
            # other calls on the same upstream are answered while one hangs
            assert text(await call(gw, "hung_add", {"a": 3, "b": 4})) == "7"
        err = outcome["hang"]
        assert isinstance(err, MCPError) and "hung" in err.error.message and "within" in err.error.message
        assert text(await call(gw, "hung_echo", {"text": "ok"})) == "ok"


async def test_malformed_and_oversize_messages_are_dropped(tmp_path: Path) -> None:
    servers = {
        "bad": {
            "command": sys.executable,
            "args": [MISBEHAVING, "--noise-on-start"],
            "max_message_bytes": 1024 * 1024,
        }
    }
    async with running_gateway(tmp_path, servers) as gw:
        conn = gw.extensions["upstream_manager"].connections["bad"]
        assert conn.protocol_version == "2025-11-25"  # fell back to initialize
        assert text(await call(gw, "bad_garbage")) == "still here"
        with anyio.fail_after(5):
            while conn.malformed < 4:  # noise at start, two malformed lines, one oversize line
                await anyio.sleep(0.02)
        with pytest.raises(MCPError, match="malformed tools/call result from MCP server bad"):
            await call(gw, "bad_wrong_shape")
        assert conn.state is State.READY and conn.restarts == 0
        assert text(await call(gw, "bad_echo")) == "ok"


async def test_shutdown_leaves_no_child_processes(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, {"a": stdio_server(), "b": stdio_server()}) as gw:
        manager = gw.extensions["upstream_manager"]
        pids = [manager.connections[n].process.pid for n in ("a", "b")]
        assert all(pid_alive(p) for p in pids)
        status = {s["name"]: s for s in manager.status()["servers"]}
        assert status["a"]["pid"] == pids[0]
    assert not any(pid_alive(p) for p in pids)


async def test_servers_start_in_parallel_and_slow_ones_appear_later(tmp_path: Path) -> None:
    servers = {"fast": stdio_server(), "slow": stdio_server("--startup-delay", "2.5")}
    async with running_gateway(tmp_path, servers, wait=False) as gw:
        events: list[CatalogEvent] = []
        gw.catalog.subscribe(events.append)
        manager = gw.extensions["upstream_manager"]
        assert await manager.connections["fast"].wait_ready(20)
        assert gw.catalog.get_tool("fast_add") is not None
        assert manager.connections["slow"].state is State.STARTING
        assert gw.catalog.get_tool("slow_add") is None
        assert await manager.connections["slow"].wait_ready(30)
        assert gw.catalog.get_tool("slow_add") is not None
        assert any(e.tools_changed and "server:slow" in e.sources for e in events)


async def test_list_changed_refreshes_the_catalog(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, {"fx": stdio_server()}) as gw:
        manager = gw.extensions["upstream_manager"]
        assert manager.connections["fx"].modern  # change notices arrive on subscriptions/listen
        await call(gw, "fx_change_tools")
        with anyio.fail_after(10):
            while gw.catalog.get_tool("fx_extra") is None:
                await anyio.sleep(0.05)
        assert text(await call(gw, "fx_extra")) == "extra"


async def test_unstartable_server_is_reported_not_fatal(tmp_path: Path) -> None:
    servers = {"ok": stdio_server(), "missing": {"command": "/nonexistent/mcp-server", "restart": False}}
    # start-up stops waiting for a server that failed for good (restart off), well before 120 s
    with anyio.fail_after(60):
        async with running_gateway(tmp_path, servers, wait=False, startup_wait=120) as gw:
            pass
    async with running_gateway(tmp_path, servers) as gw:
        manager = gw.extensions["upstream_manager"]
        status = {s["name"]: s for s in manager.status()["servers"]}
        assert status["missing"]["state"] == "failed"
        assert "nonexistent" in status["missing"]["error"]
        assert text(await call(gw, "ok_echo", {"text": "hi"})) == "hi"
        assert json.loads(json.dumps(manager.status()))  # status is JSON-serialisable


async def test_unresponsive_server_fails_health_checks_and_is_restarted(tmp_path: Path) -> None:
    import os
    import signal

    async with running_gateway(tmp_path, {"frozen": stdio_server(health_interval=1)}) as gw:
        conn = gw.extensions["upstream_manager"].connections["frozen"]
        old_pid = conn.process.pid
        os.kill(old_pid, signal.SIGSTOP)  # alive but unresponsive
        try:
            with anyio.fail_after(60):
                while not (conn.restarts >= 1 and conn.ready and conn.process.pid != old_pid):
                    await anyio.sleep(0.1)
        finally:
            if pid_alive(old_pid):
                os.kill(old_pid, signal.SIGCONT)
        assert text(await call(gw, "frozen_add", {"a": 1, "b": 2})) == "3"
        with anyio.fail_after(10):
            while pid_alive(old_pid):
                await anyio.sleep(0.1)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_client_cancel_cancels_the_upstream_call(tmp_path: Path, mode: str) -> None:
    from mcp import Client

    from magictunnel.server.mcp_server import build_server
    from magictunnel.server.sessions import SessionRegistry

    marker = tmp_path / "cancelled.txt"
    async with running_gateway(tmp_path, {"fx": stdio_server()}) as gw:
        async with Client(build_server(gw, SessionRegistry()), mode=mode) as c:
            with anyio.move_on_after(1.0):
                await c.call_tool("fx_hang", {"marker": str(marker)})
            with anyio.fail_after(10):
                while not marker.exists():
                    await anyio.sleep(0.05)
            assert marker.read_text() == "cancelled"
            assert (await c.call_tool("fx_add", {"a": 1, "b": 1})).content[0].text == "2"


async def test_crash_looping_server_backs_off_then_gives_up(tmp_path: Path) -> None:
    looping = {"command": sys.executable, "args": ["-c", "import sys; sys.exit(4)"], "max_restarts": 3}
    async with running_gateway(tmp_path, {"loop": looping, "ok": stdio_server()}, wait=False) as gw:
        manager = gw.extensions["upstream_manager"]
        conn = manager.connections["loop"]
        with anyio.fail_after(30):
            while conn.state is not State.FAILED:
                await anyio.sleep(0.05)
        assert conn.backoffs == [0.5, 1.0, 2.0]  # exponential backoff between restarts
        assert conn.restarts == 3 and "gave up after 3 restarts" in (conn.error or "")
        assert await manager.connections["ok"].wait_ready(30)
        with pytest.raises(MCPError, match="loop is not available"):
            await manager.connection_for_call("loop")
