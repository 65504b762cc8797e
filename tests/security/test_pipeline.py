"""The security pipeline in a real gateway: order, denial messages, audit of every outcome, modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.security.conftest import make_gateway, text_of

from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext, Identity


@pytest.mark.anyio
async def test_stages_run_in_the_documented_order(gateway: Gateway) -> None:
    names = [m.name for m in gateway.pipeline.middlewares]
    assert names == [
        "audit",
        "lockdown",
        "allowlist",
        "rbac",
        "policy",
        "sanitize_input",
        "validation",
        "sanitize_output",
    ]


@pytest.mark.anyio
async def test_proxy_mode_stays_light(tmp_path: Path, db_url: str) -> None:
    gw = make_gateway(tmp_path, db_url, mode="proxy")
    await gw.start()
    try:
        assert [m.name for m in gw.pipeline.middlewares] == ["validation"]
        assert "rbac" not in gw.extensions
        states = {s["name"]: s["state"] for s in gw.services.report()}
        assert states["security.audit"] == "skipped" and states["security.lockdown"] == "skipped"
    finally:
        await gw.stop()


@pytest.mark.anyio
async def test_first_denying_stage_wins_and_is_named(gateway: Gateway) -> None:
    sec = gateway.extensions["security"]
    await sec.allowlist.create(
        {"name": "no-db", "kind": "tool", "match_type": "glob", "pattern": "db_*", "action": "deny"}
    )
    await sec.rbac.create_role({"name": "reader", "permissions": ["tool:fs_read"]})
    await sec.policy.create({"name": "never-write", "effect": "deny", "conditions": {"tools": ["fs_write"]}})
    ctx = lambda: CallContext(identity=Identity(client_id="agent-1", roles=("reader",)))  # noqa: E731

    denied = await gateway.call_tool("db_query", {}, ctx())
    assert denied.is_error and text_of(denied).startswith("Denied by allowlist (rule 'no-db')")
    denied = await gateway.call_tool("echo", {}, ctx())
    assert denied.is_error and text_of(denied).startswith("Denied by rbac (rule 'no-permission')")
    assert "agent-1" in text_of(denied)
    ok = await gateway.call_tool("fs_read", {"path": "/tmp"}, ctx())
    assert not ok.is_error

    await sec.rbac.update_role("reader", {"permissions": ["tool:fs_*"]})
    denied = await gateway.call_tool("fs_write", {}, ctx())
    assert text_of(denied).startswith("Denied by policy (rule 'never-write')")

    await sec.lockdown.set(True, "admin:test", "incident")
    denied = await gateway.call_tool("fs_read", {}, ctx())
    assert text_of(denied).startswith("Denied by lockdown (rule 'emergency-lockdown')")

    entries = (await sec.audit.query(sec.audit.build_query({"event_type": "tool_call", "limit": 10})))[
        "entries"
    ]
    seen = [(e["tool"], e["outcome"], e["stage"], e["rule"]) for e in reversed(entries)]
    assert seen == [
        ("db_query", "denied", "allowlist", "no-db"),
        ("echo", "denied", "rbac", "no-permission"),
        ("fs_read", "success", None, None),
        ("fs_write", "denied", "policy", "never-write"),
        ("fs_read", "denied", "lockdown", "emergency-lockdown"),
    ]
    assert all(e["client_id"] == "agent-1" for e in entries)


@pytest.mark.anyio
async def test_every_source_walks_the_pipeline(gateway: Gateway) -> None:
    sec = gateway.extensions["security"]
    await sec.lockdown.set(True, "admin:test", "drill")
    for source in ("mcp", "rest", "discovery"):
        base = CallContext(source="mcp", identity=Identity(client_id="c"))
        ctx = base.child(source) if source == "discovery" else CallContext(source=source)
        result = await gateway.call_tool("echo", {}, ctx)
        assert result.is_error and "emergency-lockdown" in text_of(result)
    entries = (await sec.audit.query(sec.audit.build_query({"outcome": "denied"})))["entries"]
    assert sorted(e["source"] for e in entries) == ["discovery", "mcp", "rest"]


@pytest.mark.anyio
async def test_rbac_extension_filters_tool_lists_per_client(gateway: Gateway) -> None:
    sec = gateway.extensions["security"]
    rbac = gateway.extensions["rbac"]
    await sec.rbac.create_role({"name": "gh", "permissions": ["server:github"]})
    await sec.rbac.create_role({"name": "files", "permissions": ["tool:fs_*", "!tool:fs_write"]})
    await sec.rbac.create_client({"id": "bot", "roles": ["files"]})
    await sec.allowlist.create({"name": "hide-read", "pattern": "fs_read", "action": "deny"})

    def visible(identity: Identity) -> list[str]:
        return sorted(t.name for t in gateway.visible_tools() if rbac.can_call(identity, t))

    assert visible(Identity(client_id="bot")) == []  # fs_write denied by role, fs_read by the allowlist
    assert visible(Identity(client_id="x", roles=("gh",))) == ["gh_issue"]
    # a client nobody configured: rbac.default_action (allow), minus the allowlist's denials
    assert "fs_read" not in visible(Identity(client_id="stranger")) and "echo" in visible(
        Identity(client_id="s")
    )


@pytest.mark.anyio
async def test_exceptions_are_audited_and_reraised(gateway: Gateway) -> None:
    from magictunnel.core.gateway import UnknownToolError

    sec = gateway.extensions["security"]

    class Boom:
        type = "boom"

        async def execute(self, tool, arguments, ctx):
            raise RuntimeError("backend exploded")

        def check_config(self, config):
            return []

    from magictunnel.catalog.catalog import SourceSnapshot
    from magictunnel.catalog.models import Routing, ToolDef

    gateway.backends.register(Boom())
    gateway.catalog.set_source(
        SourceSnapshot(name="boom", tools=[ToolDef(name="boom", routing=Routing(type="boom"))])
    )
    result = await gateway.call_tool("boom", {}, CallContext())
    assert result.is_error
    with pytest.raises(UnknownToolError):
        await gateway.call_tool("nope", {}, CallContext())
    entries = (await sec.audit.query(sec.audit.build_query({"tool": "boom"})))["entries"]
    assert entries and entries[0]["outcome"] == "error"
