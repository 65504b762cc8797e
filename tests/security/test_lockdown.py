from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.security.conftest import make_config, make_gateway, text_of

from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext
from magictunnel.security.suite import SecuritySuite
from magictunnel.storage import Storage


@pytest.mark.anyio
async def test_blocks_the_very_next_call_and_audits_everything(gateway: Gateway) -> None:
    sec = gateway.extensions["security"]
    assert not (await gateway.call_tool("echo", {}, CallContext())).is_error
    status = await sec.lockdown.set(True, "admin:ops", "suspected key leak")
    assert status["active"] and status["by"] == "admin:ops"
    for name in ("echo", "fs_read", "gh_issue"):
        result = await gateway.call_tool(name, {}, CallContext())
        assert result.is_error and "suspected key leak" in text_of(result)
    assert gateway.backends.get("echo").calls == [{"tool": "echo", "arguments": {}, "source": "mcp"}]
    assert sec.lockdown.status()["blocked_since_activation"] == 3
    await sec.lockdown.set(False, "admin:ops", "rotated")
    assert not (await gateway.call_tool("echo", {}, CallContext())).is_error
    events = (await sec.audit.query(sec.audit.build_query({"event_type": "lockdown"})))["entries"]
    assert [(e["action"], e["client_id"]) for e in reversed(events)] == [
        ("activate", "admin:ops"),
        ("deactivate", "admin:ops"),
    ]
    blocked = (await sec.audit.query(sec.audit.build_query({"outcome": "denied"})))["entries"]
    assert len(blocked) == 3 and {e["rule"] for e in blocked} == {"emergency-lockdown"}


@pytest.mark.anyio
async def test_persists_across_restarts(tmp_path: Path, db_url: str) -> None:
    first = make_gateway(tmp_path, db_url)
    await first.start()
    await first.extensions["security"].lockdown.set(True, "admin:test", "maintenance")
    await first.stop()
    second = make_gateway(tmp_path, db_url)
    await second.start()
    try:
        result = await second.call_tool("echo", {}, CallContext())
        assert result.is_error and "maintenance" in text_of(result)
    finally:
        await second.stop()


@pytest.mark.anyio
async def test_another_process_toggles_a_running_gateway(
    gateway: Gateway, db_url: str, tmp_path: Path
) -> None:
    # what `magictunnel security lockdown on` does: its own suite on the same database
    store = Storage(db_url, tmp_path / "data")
    cli = await SecuritySuite(store, make_config(tmp_path, db_url).security).load()
    try:
        await cli.lockdown.set(True, "cli:root", "from the CLI")
        for _ in range(100):  # the gateway polls every 0.1 s in tests (0.5 s by default)
            if gateway.extensions["security"].lockdown.active:
                break
            await asyncio.sleep(0.05)
        result = await gateway.call_tool("echo", {}, CallContext())
        assert result.is_error and "from the CLI" in text_of(result)
        await cli.lockdown.set(False, "cli:root")
        for _ in range(100):
            if not gateway.extensions["security"].lockdown.active:
                break
            await asyncio.sleep(0.05)
        assert not (await gateway.call_tool("echo", {}, CallContext())).is_error
    finally:
        await cli.close()
        await store.close()
