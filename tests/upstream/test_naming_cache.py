"""Naming strategies, per-server filters, the capability cache (history, drift, cold start) and
the Streamable HTTP / SSE / WebSocket transports, with real fixture servers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from magictunnel.catalog.catalog import SourceSnapshot
from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.pipeline.context import CallContext
from magictunnel.upstream.cache import CapabilityCache, tool_drift
from magictunnel.upstream.config import parse_server
from magictunnel.upstream.naming import build_snapshot, safe_name, template_matches
from tests.upstream.conftest import running_gateway, stdio_server

pytestmark = pytest.mark.anyio

LISTING = {
    "tools": [
        {"name": "create_issue", "inputSchema": {"type": "object"}},
        {"name": "delete_repo", "inputSchema": {"type": "object"}},
        {"name": "weird name/with:chars", "inputSchema": {"type": "object"}},
    ],
    "prompts": [{"name": "summarise", "arguments": [{"name": "text", "required": True}]}],
}


def spec(**extra: object):
    return parse_server("github", {"command": "x", **extra}, "test")


def served(built) -> dict[str, str]:
    return {t.name: t.original_name for t in built.snapshot.tools}


def test_prefix_is_default_and_keeps_the_original_name() -> None:
    built = build_snapshot(spec(), LISTING, "prefix", set(), set())
    assert served(built) == {
        "github_create_issue": "create_issue",
        "github_delete_repo": "delete_repo",
        "github_weird_name_with_chars": "weird name/with:chars",
    }
    assert built.snapshot.prompts[0].name == "github_summarise"
    assert built.snapshot.priority == 20 and all(
        t.routing.type == "external_mcp" for t in built.snapshot.tools
    )


def test_local_first_reject_passthrough() -> None:
    taken = {"create_issue"}
    local_first = build_snapshot(spec(), LISTING, "local_first", taken, set())
    assert served(local_first)["github_create_issue"] == "create_issue"
    assert "delete_repo" in served(local_first)
    reject = build_snapshot(spec(), LISTING, "reject", taken, set())
    assert "create_issue" not in served(reject) and "github_create_issue" not in served(reject)
    assert any("rejected" in c for c in reject.conflicts)
    passthrough = build_snapshot(spec(), LISTING, "passthrough", set(), set())
    assert set(served(passthrough)) == {"create_issue", "delete_repo", "weird_name_with_chars"}


def test_allow_deny_hidden_globs() -> None:
    built = build_snapshot(
        spec(allow=["*_*"], deny=["delete_*"], hidden=["create_*"]), LISTING, "prefix", set(), set()
    )
    tools = {t.name: t for t in built.snapshot.tools}
    assert set(tools) == {"github_create_issue"}
    assert tools["github_create_issue"].hidden is True
    assert sorted(built.filtered) == ["delete_repo", "weird name/with:chars"]


def test_safe_name_and_template_matching() -> None:
    assert len(safe_name("x" * 100)) == 64 and safe_name("x" * 100) == safe_name("x" * 100)
    assert template_matches("test://template/{id}/data", "test://template/123/data")
    assert not template_matches("test://template/{id}/data", "test://template/1/2/data")
    assert template_matches("file:///{+path}", "file:///a/b/c.txt")


def test_cache_versions_and_drift(tmp_path: Path) -> None:
    cache = CapabilityCache(tmp_path / "caps.db")
    first = cache.record("gh", LISTING, "2025-11-25")
    assert first == {"version": 1, "changed": True, "drift": None}
    assert cache.record("gh", LISTING, "2025-11-25")["changed"] is False
    changed = {
        "tools": [
            {"name": "create_issue", "inputSchema": {"type": "object", "required": ["title"]}},
            {"name": "new_tool", "inputSchema": {}},
        ],
        "prompts": [],
    }
    second = cache.record("gh", changed, "2025-11-25")
    assert second["version"] == 2
    assert second["drift"] == {
        "added": ["new_tool"],
        "removed": ["delete_repo", "weird name/with:chars"],
        "changed": [{"tool": "create_issue", "fields": ["inputSchema"]}],
    }
    assert [h["version"] for h in cache.history("gh")] == [2, 1]
    assert cache.latest("gh")["listing"] == changed
    cache.close()
    assert tool_drift(LISTING, LISTING) == {"added": [], "removed": [], "changed": []}


async def test_restart_serves_last_known_catalog_and_reports_drift(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, {"fx": stdio_server()}) as gw:
        assert gw.catalog.get_tool("fx_echo").description == "Echo the text back"
    # the server is slow to come back: its last known tools are served at once
    servers = {"fx": stdio_server("--startup-delay", "3", "--variant", "2")}
    async with running_gateway(tmp_path, servers, wait=False) as gw:
        manager = gw.extensions["upstream_manager"]
        assert gw.catalog.get_tool("fx_echo") is not None
        assert manager.server_status("fx")["serving_cached"] is True
        assert await manager.connections["fx"].wait_ready(30)
        status = manager.server_status("fx")
        assert status["serving_cached"] is False and status["capabilities_version"] == 2
        assert status["drift"]["changed"] == [{"tool": "echo", "fields": ["description"]}]
        assert gw.catalog.get_tool("fx_echo").description == "Echo the text back (variant 2)"
        assert [h["version"] for h in manager.history("fx")] == [2, 1]


async def test_collisions_between_servers_and_local_tools(tmp_path: Path) -> None:
    servers = {
        "a": {**stdio_server(), "naming": "passthrough"},
        "b": {**stdio_server(), "naming": "local_first"},
    }
    async with running_gateway(tmp_path, servers) as gw:
        local = ToolDef(
            name="pid",
            description="local pid",
            source="file:local.yaml",
            routing=Routing(type="subprocess", config={"command": "echo"}),
        )
        gw.catalog.set_source(SourceSnapshot(name="file:local.yaml", tools=[local], priority=10))
        manager = gw.extensions["upstream_manager"]
        for name in ("a", "b"):
            await manager.refresh(name)
        assert gw.catalog.get_tool("pid").source == "file:local.yaml"  # local first
        assert gw.catalog.get_tool("add").server == "a"  # a passes names through
        assert gw.catalog.get_tool("b_add").server == "b"  # b's collides with a's: prefixed
        assert gw.catalog.get_tool("b_pid").original_name == "pid"
        assert any("'pid'" in c and "rejected" in c for c in manager.conflicts["a"])
        result = await gw.call_tool("b_add", {"a": 1, "b": 2}, CallContext())
        assert result.content[0].text == "3"


@pytest.mark.parametrize("kind", ["http", "sse"])
async def test_remote_transports(tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(f"{kind}_fixture")
    async with running_gateway(tmp_path, {"remote": {"type": kind, "url": url}}) as gw:
        conn = gw.extensions["upstream_manager"].connections["remote"]
        assert conn.ready, conn.error
        result = await gw.call_tool("remote_add", {"a": 5, "b": 6}, CallContext())
        assert result.content[0].text == "11"


async def test_websocket_transport_against_a_gateway(tmp_path: Path) -> None:
    """ws upstream: a second MagicTunnel (its /mcp/ws endpoint) fronting the fixture."""
    from tests.support.gateway import run_gateway

    inner_dir = tmp_path / "inner"
    inner_dir.mkdir()
    inner_cfg = {
        "registry": {"paths": [], "hot_reload": False},
        "storage": {"data_dir": str(inner_dir / "data")},
        "external_mcp": {
            "config_file": None,
            "naming": "passthrough",
            "startup_wait": 20,
            "servers": {"fx": {"command": sys.executable, "args": [stdio_server()["args"][0]]}},
        },
    }
    with run_gateway(inner_dir, inner_cfg, timeout=60) as inner:
        async with running_gateway(tmp_path / "outer", {"sock": {"type": "ws", "url": inner.ws_url}}) as gw:
            conn = gw.extensions["upstream_manager"].connections["sock"]
            assert conn.ready, conn.error
            result = await gw.call_tool("sock_add", {"a": 2, "b": 2}, CallContext())
            assert result.content[0].text == "4"


def test_cache_file_from_the_earlier_layout_is_read_and_a_bad_one_set_aside(tmp_path: Path) -> None:
    import sqlite3

    # written by the earlier stdlib-sqlite3 version: the same table, read as it is
    path = tmp_path / "caps.db"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE upstream_capabilities (server TEXT NOT NULL, version INTEGER NOT NULL, "
        "listed_at REAL NOT NULL, last_seen REAL NOT NULL, digest TEXT NOT NULL, protocol_version TEXT, "
        "data TEXT NOT NULL, drift TEXT, PRIMARY KEY (server, version))"
    )
    db.execute(
        "INSERT INTO upstream_capabilities VALUES ('gh', 3, 1.0, 2.0, 'x', '2025-06-18', ?, NULL)",
        (json.dumps(LISTING),),
    )
    db.commit()
    db.close()
    cache = CapabilityCache(path)
    assert cache.latest("gh")["version"] == 3 and cache.latest("gh")["listing"] == LISTING
    assert cache.record("gh", LISTING, "2025-06-18")["version"] == 4  # digest "x" differs: a new version
    cache.close()
    # not a database at all, or a table of another shape: moved aside, the cache starts empty
    for content in (b"this is not a database" * 100, None):
        bad = tmp_path / f"bad-{content is None}.db"
        if content is None:
            other = sqlite3.connect(bad)
            other.execute("CREATE TABLE upstream_capabilities (name TEXT)")
            other.commit()
            other.close()
        else:
            bad.write_bytes(content)
        cache = CapabilityCache(bad)
        assert cache.latest("gh") is None
        assert cache.record("gh", LISTING, None)["version"] == 1
        cache.close()
        assert len(list(tmp_path.glob(f"{bad.name}.unreadable-*"))) == 1
