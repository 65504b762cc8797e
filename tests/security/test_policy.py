from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tests.security.conftest import text_of

from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext, Identity
from magictunnel.security.common import InvalidInput
from magictunnel.security.policy_model import Facts

NOON_MONDAY = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def facts(**kw: Any) -> Facts:
    base = {
        "tool": "echo",
        "server": None,
        "client_id": "c",
        "roles": (),
        "arguments": {},
        "source": "mcp",
        "remote_addr": "127.0.0.1",
        "now": NOON_MONDAY,
    }
    return Facts(**(base | kw))


@pytest.mark.anyio
async def test_conditions(suite: Any) -> None:
    p = suite.policy
    await p.create(
        {
            "name": "big-transfers",
            "effect": "deny",
            "priority": 50,
            "message": "too much money",
            "conditions": {"tools": ["pay*"], "arguments": [{"path": "amount", "op": "gt", "value": 1000}]},
        }
    )
    await p.create(
        {
            "name": "office-hours",
            "effect": "deny",
            "priority": 40,
            "conditions": {
                "tools": ["deploy"],
                "time_window": {"days": ["sat", "sun"], "start": "00:00", "end": "23:59"},
            },
        }
    )
    await p.create(
        {
            "name": "lan-only",
            "effect": "deny",
            "priority": 30,
            "conditions": {"tools": ["admin_*"], "source_ips": ["10.0.0.0/8"]},
        }
    )
    await p.create({"name": "ops", "effect": "allow", "priority": 20, "conditions": {"roles": ["ops"]}})
    await p.create(
        {
            "name": "bots",
            "effect": "deny",
            "priority": 10,
            "conditions": {"clients": ["bot-*"], "servers": ["prod*"]},
        }
    )
    assert p.evaluate(facts(tool="pay", arguments={"amount": 5000}))[:2] == ("deny", "big-transfers")
    assert p.evaluate(facts(tool="pay", arguments={"amount": 5}))[1] == "default"
    assert p.evaluate(facts(tool="deploy"))[1] == "default"  # Monday
    saturday = NOON_MONDAY + dt.timedelta(days=5)
    assert p.evaluate(facts(tool="deploy", now=saturday))[1] == "office-hours"
    assert p.evaluate(facts(tool="admin_x", remote_addr="10.1.2.3"))[1] == "lan-only"
    assert p.evaluate(facts(tool="admin_x", remote_addr="192.168.1.1"))[1] == "default"
    assert p.evaluate(facts(tool="x", client_id="bot-7", server="prod-db"))[1] == "bots"
    assert (
        p.evaluate(facts(tool="x", client_id="bot-7", server="prod-db", roles=("ops",)))[1] == "ops"
    )  # order
    out = p.test({"tool": "pay", "arguments": {"amount": 2000}})
    assert out["rule"] == "big-transfers" and out["message"] == "too much money"
    assert [r["matches"] for r in out["evaluated"]] == [True, False, False, False, False]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "rule, fragment",
    [
        ({"name": "x", "effect": "maybe"}, "effect"),
        ({"name": "x", "effect": "deny", "conditions": {"source_ips": ["10.0.0.0/33"]}}, "source_ips"),
        (
            {"name": "x", "effect": "deny", "conditions": {"time_window": {"start": "25:00"}}},
            "time_window.start",
        ),
        ({"name": "x", "effect": "deny", "conditions": {"time_window": {"days": ["funday"]}}}, "funday"),
        (
            {"name": "x", "effect": "deny", "conditions": {"time_window": {"timezone": "Mars/Base"}}},
            "time zone",
        ),
        (
            {
                "name": "x",
                "effect": "deny",
                "conditions": {"arguments": [{"path": "a", "op": "matches", "value": "("}]},
            },
            "invalid regular expression",
        ),
        (
            {
                "name": "x",
                "effect": "deny",
                "conditions": {"arguments": [{"path": "a", "op": "gt", "value": "x"}]},
            },
            "number",
        ),
        ({"name": "x", "effect": "deny", "conditions": {"weather": "sunny"}}, "unknown field"),
    ],
)
async def test_invalid_rules_rejected(suite: Any, rule: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        await suite.policy.create(rule)


@pytest.mark.anyio
async def test_require_approval_flow_through_the_gateway(gateway: Gateway) -> None:
    sec = gateway.extensions["security"]
    await sec.policy.create(
        {"name": "approve-writes", "effect": "require_approval", "conditions": {"tools": ["fs_write"]}}
    )
    ctx = lambda: CallContext(identity=Identity(client_id="writer"))  # noqa: E731
    held = await gateway.call_tool("fs_write", {"path": "/a", "token": "ghp_" + "x" * 36}, ctx())
    assert held.is_error and "Denied by policy (rule 'approve-writes')" in text_of(held)
    pending = await sec.policy.list_approvals("pending")
    assert len(pending) == 1 and pending[0]["id"] in text_of(held)
    assert "ghp_" not in str(pending[0]["arguments"])  # stored redacted
    again = await gateway.call_tool("fs_write", {"path": "/a", "token": "ghp_" + "x" * 36}, ctx())
    assert again.is_error and len(await sec.policy.list_approvals("pending")) == 1  # same request reused
    await sec.policy.decide(pending[0]["id"], True, "admin:test")
    other_args = await gateway.call_tool("fs_write", {"path": "/b"}, ctx())
    assert other_args.is_error  # approval covers the same arguments only
    ok = await gateway.call_tool("fs_write", {"path": "/a", "token": "ghp_" + "x" * 36}, ctx())
    assert not ok.is_error
    once = await gateway.call_tool("fs_write", {"path": "/a", "token": "ghp_" + "x" * 36}, ctx())
    assert once.is_error  # used up
    with pytest.raises(InvalidInput, match="not pending"):
        await sec.policy.decide(pending[0]["id"], True, "admin:test")
