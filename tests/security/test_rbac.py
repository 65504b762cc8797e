from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.security.conftest import make_config

from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.pipeline.context import Identity
from magictunnel.security.common import InvalidInput
from magictunnel.security.suite import SecuritySuite
from magictunnel.storage.repositories import Duplicate, NotFound


def tool(name: str, server: str | None = None) -> ToolDef:
    return ToolDef(name=name, server=server, routing=Routing(type="echo"))


@pytest.mark.anyio
async def test_inheritance_and_deny_over_allow(suite: Any) -> None:
    rbac = suite.rbac
    await rbac.create_role({"name": "viewer", "permissions": ["tool:*_read", "prompt:*"]})
    await rbac.create_role(
        {
            "name": "dev",
            "inherits": ["viewer"],
            "permissions": [{"type": "tool", "pattern": "fs_*"}, "!tool:fs_delete"],
        }
    )
    await rbac.create_client({"id": "agent", "roles": ["dev"]})
    me = Identity(client_id="agent")
    assert rbac.effective_roles(me) == ("dev", "viewer")
    assert rbac.check(me, "tool", "db_read").allowed  # inherited
    assert rbac.check(me, "tool", "fs_write").allowed
    d = rbac.check(me, "tool", "fs_delete")
    assert not d.allowed and d.rule == "role:dev deny tool:fs_delete"
    d = rbac.check(me, "tool", "net_get")
    assert not d.allowed and d.rule == "no-permission" and "[dev, viewer]" in d.reason
    assert rbac.can_get_prompt(me, "summarize")
    assert not rbac.can_read_resource(me, "file:///x")


@pytest.mark.anyio
async def test_server_permissions_roles_from_credentials_and_disabled_clients(suite: Any) -> None:
    rbac = suite.rbac
    await rbac.create_role({"name": "gh", "permissions": ["server:github", "!tool:github_delete*"]})
    ident = Identity(client_id="key-1", roles=("gh",))  # roles carried by the API key / token
    assert rbac.can_call(ident, tool("github_issue", "github"))
    assert not rbac.can_call(ident, tool("github_delete_repo", "github"))
    assert not rbac.can_call(ident, tool("local_tool"))
    await rbac.create_client({"id": "key-1", "enabled": False})
    assert not rbac.check(ident, "tool", "github_issue", "github").allowed
    assert not rbac.can_call(ident, tool("github_issue", "github"))


@pytest.mark.anyio
async def test_clients_without_roles_follow_the_default(storage: Any, tmp_path: Path) -> None:
    config = make_config(tmp_path, "sqlite://", security={"rbac": {"default_action": "deny"}}).security
    sec = await SecuritySuite(storage, config).load()
    d = sec.rbac.check(Identity(client_id="nobody"), "tool", "echo")
    assert not d.allowed and d.rule == "default"
    await sec.rbac.create_client({"id": "direct", "permissions": ["tool:echo"]})
    assert sec.rbac.check(Identity(client_id="direct"), "tool", "echo").allowed  # direct permission


@pytest.mark.anyio
async def test_templates(suite: Any) -> None:
    rbac = suite.rbac
    await rbac.create_role({"name": "reader", "permissions": ["tool:*_read"]})
    await rbac.create_template({"name": "ro-agent", "roles": ["reader"], "permissions": ["prompt:*"]})
    row = await rbac.apply_template("new-agent", "ro-agent")
    assert row["roles"] == ["reader"] and row["template"] == "ro-agent"
    perms = rbac.client_permissions("new-agent")
    assert perms["effective_roles"] == ["reader"]
    assert {p["granted_by"] for p in perms["permissions"]} == {"role:reader", "client:new-agent"}
    with pytest.raises(NotFound):
        await rbac.apply_template("x", "missing")


@pytest.mark.anyio
async def test_integrity_checks(suite: Any) -> None:
    rbac = suite.rbac
    await rbac.create_role({"name": "a"})
    await rbac.create_role({"name": "b", "inherits": ["a"]})
    with pytest.raises(InvalidInput, match="cycle"):
        await rbac.update_role("a", {"inherits": ["b"]})
    with pytest.raises(InvalidInput, match="unknown role"):
        await rbac.create_role({"name": "c", "inherits": ["zzz"]})
    with pytest.raises(InvalidInput, match="still used by role b"):
        await rbac.delete_role("a")
    with pytest.raises(Duplicate):
        await rbac.create_role({"name": "a"})
    with pytest.raises(InvalidInput, match=r"permissions\[0\]"):
        await rbac.create_role({"name": "d", "permissions": ["fs_*"]})
    with pytest.raises(InvalidInput, match="type"):
        await rbac.create_role({"name": "d", "permissions": [{"type": "galaxy", "pattern": "*"}]})
    with pytest.raises(InvalidInput, match="unknown role"):
        await rbac.create_client({"id": "c", "roles": ["nope"]})
    await rbac.delete_role("b")
    await rbac.delete_role("a")
    assert rbac.roles == {}


@pytest.mark.anyio
async def test_persisted_and_seen_by_another_instance(suite: Any, storage: Any, tmp_path: Path) -> None:
    await suite.rbac.create_role({"name": "r", "permissions": ["tool:x"]})
    await suite.rbac.create_client({"id": "c", "roles": ["r"]})
    other = await SecuritySuite(storage, make_config(tmp_path, "sqlite://").security).load()
    assert other.rbac.check(Identity(client_id="c"), "tool", "x").allowed
    await suite.rbac.update_role("r", {"permissions": ["tool:y"]})
    assert await other.changes.poll_once() == ["rbac"]
    assert not other.rbac.check(Identity(client_id="c"), "tool", "x").allowed
