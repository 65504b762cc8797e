from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.security.conftest import make_config

from magictunnel.security.common import InvalidInput
from magictunnel.security.suite import SecuritySuite


@pytest.mark.anyio
async def test_exact_glob_regex_and_default(suite: Any) -> None:
    allow = suite.allowlist
    await allow.create({"name": "fs", "match_type": "glob", "pattern": "fs_*", "action": "allow"})
    await allow.create(
        {"name": "no-write", "match_type": "exact", "pattern": "fs_write", "action": "deny", "priority": 10}
    )
    await allow.create({"name": "db", "match_type": "regex", "pattern": r"db_(read|query)", "action": "deny"})
    assert allow.check_tool("fs_read").allowed
    d = allow.check_tool("fs_write")
    assert not d.allowed and d.rule == "no-write"
    assert allow.check_tool("db_query").rule == "db"
    assert allow.check_tool("db_query_x").rule == "default"  # regex is a full match
    await allow.set_default_action("deny")
    d = allow.check_tool("other")
    assert not d.allowed and "default action is deny" in d.reason


@pytest.mark.anyio
async def test_equal_priority_deny_wins(suite: Any) -> None:
    await suite.allowlist.create({"name": "a", "match_type": "glob", "pattern": "*", "action": "allow"})
    await suite.allowlist.create({"name": "d", "match_type": "glob", "pattern": "x*", "action": "deny"})
    assert suite.allowlist.check_tool("xy").rule == "d"


@pytest.mark.anyio
async def test_parameter_rules_and_global_guards(suite: Any) -> None:
    allow = suite.allowlist
    await allow.create(
        {
            "name": "shell",
            "pattern": "run",
            "action": "allow",
            "parameters": {
                "cmd": {"blocked_patterns": [r"rm\s+-rf", r";"]},
                "mode": {"allowed_values": ["ro", "rw"]},
            },
        }
    )
    await allow.create(
        {
            "name": "no-etc",
            "kind": "global",
            "action": "allow",
            "priority": -100,
            "parameters": {"path": {"blocked_patterns": ["^/etc/"]}},
        }
    )
    assert allow.check_tool("run", {"cmd": "ls -l", "mode": "ro"}).allowed
    d = allow.check_tool("run", {"cmd": "rm -rf /"})
    assert not d.allowed and d.rule == "shell" and "cmd" in d.reason and "blocked pattern" in d.reason
    d = allow.check_tool("run", {"mode": "admin"})
    assert not d.allowed and "not one of the allowed values" in d.reason
    d = allow.check_tool("anything", {"path": "/etc/passwd"})
    assert not d.allowed and d.rule == "no-etc"
    assert allow.check_tool("anything", {"path": "/home/x"}).allowed


@pytest.mark.anyio
async def test_resource_rules(suite: Any) -> None:
    await suite.allowlist.create(
        {
            "name": "secrets",
            "kind": "resource",
            "match_type": "glob",
            "pattern": "file:///secrets/*",
            "action": "deny",
        }
    )
    assert not suite.allowlist.check_resource("file:///secrets/key").allowed
    assert suite.allowlist.check_resource("file:///public/x").allowed
    assert suite.allowlist.check_tool("file:///secrets/key").rule == "default"  # tool checks ignore it


@pytest.mark.anyio
@pytest.mark.parametrize(
    "rule, fragment",
    [
        (
            {"name": "r", "match_type": "regex", "pattern": "([a-z", "action": "deny"},
            "invalid regular expression",
        ),
        ({"name": "r", "match_type": "glob", "pattern": "", "action": "deny"}, "non-empty"),
        ({"name": "r", "match_type": "fuzzy", "pattern": "x", "action": "deny"}, "match_type"),
        ({"name": "r", "pattern": "x", "action": "maybe"}, "action"),
        (
            {"name": "r", "pattern": "x", "action": "deny", "parameters": {"p": {"blocked_patterns": ["("]}}},
            "parameters.p.blocked_patterns[0]",
        ),
        ({"name": "r", "pattern": "x", "action": "deny", "colour": "red"}, "unknown field"),
        ({"pattern": "x", "action": "deny"}, "name"),
    ],
)
async def test_invalid_rules_are_rejected_with_reason(
    suite: Any, rule: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        await suite.allowlist.create(rule)
    assert await suite.allowlist.list() == []


@pytest.mark.anyio
async def test_pattern_tester(suite: Any) -> None:
    out = suite.allowlist.test_pattern("glob", "fs_*", ["fs_read", "db"])
    assert [r["matches"] for r in out["results"]] == [True, False]
    with pytest.raises(InvalidInput, match="invalid regular expression"):
        suite.allowlist.test_pattern("regex", "(", ["x"])


@pytest.mark.anyio
async def test_rules_persist_for_a_new_process(suite: Any, storage: Any, tmp_path: Path) -> None:
    await suite.allowlist.create({"name": "p", "pattern": "x", "action": "deny"})
    await suite.allowlist.set_default_action("deny")
    other = SecuritySuite(storage, make_config(tmp_path, "sqlite://").security)
    await other.load()
    assert other.allowlist.check_tool("x").rule == "p"
    assert other.allowlist.default_action == "deny"
    stats = other.allowlist.get_statistics()
    assert stats["rules"] == 1 and stats["checks"] == 1


@pytest.mark.anyio
async def test_update_and_delete(suite: Any) -> None:
    row = await suite.allowlist.create({"name": "p", "pattern": "x", "action": "deny"})
    await suite.allowlist.update(row["id"], {"action": "allow"})
    assert suite.allowlist.check_tool("x").allowed
    with pytest.raises(InvalidInput):
        await suite.allowlist.update(row["id"], {"match_type": "regex", "pattern": "*"})
    await suite.allowlist.delete(row["id"])
    assert suite.allowlist.check_tool("x").rule == "default"
