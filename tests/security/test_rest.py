"""The /api/security REST API over real HTTP: admin-only, CRUD, testers, 400 (never 500) on bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.security.conftest import ADMIN_TOKEN, make_gateway
from tests.security.helpers import serve

from magictunnel.web.app import create_app

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def api(tmp_path: Path, db_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    gateway = make_gateway(tmp_path, db_url)
    app = create_app(gateway)
    async with serve(app) as base, httpx.AsyncClient(base_url=base, headers=AUTH, timeout=30) as client:
        yield client, app


@pytest.mark.anyio
async def test_every_security_route_requires_an_admin(api: tuple[httpx.AsyncClient, Any]) -> None:
    client, app = api
    routes = [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/security")
        for method in item
    ]
    assert len(routes) >= 40
    for method, path in routes:
        url = (
            path.replace("{rule_id}", "1")
            .replace("{policy_id}", "1")
            .replace("{name}", "x")
            .replace("{client_id}", "x")
            .replace("{entry_id}", "x")
            .replace("{approval_id}", "x")
        )
        for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong-token"}):
            response = await client.request(method, url, headers=headers, json={})
            assert response.status_code == 401, (method, url, response.text)


@pytest.mark.anyio
async def test_openapi_documents_the_api(api: tuple[httpx.AsyncClient, Any]) -> None:
    _, app = api
    paths = app.openapi()["paths"]
    for path in (
        "/api/security/status",
        "/api/security/lockdown/activate",
        "/api/security/allowlist/rules",
        "/api/security/rbac/clients/{client_id}/permissions",
        "/api/security/audit/export",
        "/api/security/sanitization/test",
        "/api/security/policies/approvals/{approval_id}/approve",
    ):
        assert path in paths
        assert all(op.get("summary") for op in paths[path].values())


@pytest.mark.anyio
async def test_crud_and_testers(api: tuple[httpx.AsyncClient, Any]) -> None:
    client, _ = api
    r = await client.post(
        "/api/security/allowlist/rules",
        json={"name": "no-db", "match_type": "glob", "pattern": "db_*", "action": "deny"},
    )
    assert r.status_code == 201, r.text
    rule_id = r.json()["id"]
    assert (await client.put(f"/api/security/allowlist/rules/{rule_id}", json={"priority": 7})).json()[
        "priority"
    ] == 7
    r = await client.post("/api/security/allowlist/test", json={"name": "db_query"})
    assert r.json()["allowed"] is False and r.json()["rule"] == "no-db"
    r = await client.post(
        "/api/security/allowlist/test-pattern",
        json={"match_type": "regex", "pattern": "a+", "values": ["aa", "b"]},
    )
    assert [x["matches"] for x in r.json()["results"]] == [True, False]
    assert (
        await client.put("/api/security/allowlist/settings", json={"default_action": "deny"})
    ).status_code == 200

    assert (
        await client.post("/api/security/rbac/roles", json={"name": "dev", "permissions": ["tool:fs_*"]})
    ).status_code == 201
    assert (
        await client.post("/api/security/rbac/templates", json={"name": "t", "roles": ["dev"]})
    ).status_code == 201
    r = await client.post("/api/security/rbac/templates/t/apply", json={"client_id": "agent-7"})
    assert r.status_code == 200 and r.json()["roles"] == ["dev"]
    r = await client.put(
        "/api/security/rbac/clients/agent-7/permissions", json={"permissions": ["!tool:fs_rm"]}
    )
    assert r.json()["effective_roles"] == ["dev"]
    r = await client.post("/api/security/rbac/check", json={"client_id": "agent-7", "name": "fs_rm"})
    assert r.json()["allowed"] is False and r.json()["rule"] == "client:agent-7 deny tool:fs_rm"

    r = await client.post(
        "/api/security/policies/rules",
        json={"name": "ro", "effect": "deny", "conditions": {"tools": ["*_write"]}},
    )
    assert r.status_code == 201
    r = await client.post("/api/security/policies/test", json={"tool": "fs_write", "client_id": "agent-7"})
    assert r.json()["rule"] == "ro"

    r = await client.post(
        "/api/security/sanitization/test",
        json={"content": "mail a@b.io key AKIAIOSFODNN7EXAMPLE", "categories": ["all"]},
    )
    assert r.json()["result"] == "mail [REDACTED:email] key [REDACTED:aws_access_key]"
    assert (
        await client.post("/api/security/sanitization/policies", json={"name": "p", "action": "block"})
    ).status_code == 201

    r = await client.post("/api/security/test", json={"tool": "fs_write", "client_id": "agent-7"})
    body = r.json()
    assert body["allowed"] is False and body["denied_by"]["stage"] == "allowlist"  # default deny now
    assert [s["stage"] for s in body["stages"]] == ["lockdown", "allowlist", "rbac", "policy", "sanitization"]

    r = await client.post("/api/security/lockdown/activate", json={"reason": "drill"})
    assert r.json()["active"] is True
    assert (await client.get("/api/security/lockdown")).json()["reason"] == "drill"
    assert (await client.post("/api/security/lockdown/deactivate")).json()["active"] is False

    status = (await client.get("/api/security/status")).json()
    assert status["healthy"] is True
    assert set(status["services"]) == {"audit", "lockdown", "allowlist", "rbac", "policy", "sanitization"}
    assert status["services"]["allowlist"]["statistics"]["rules"] == 1

    changes = (
        await client.get("/api/security/audit/entries", params={"event_type": "security_change"})
    ).json()
    actions = {e["action"] for e in changes["entries"]}
    assert {
        "allowlist.create",
        "rbac.role.create",
        "rbac.template.apply",
        "policy.create",
        "sanitization.create",
    } <= actions
    assert all(e["client_id"] == "admin:admin-token" for e in changes["entries"])
    r = await client.get("/api/security/audit/export", params={"format": "csv", "event_type": "lockdown"})
    assert r.headers["content-type"].startswith("text/csv") and r.text.count("\n") == 3
    assert (await client.get("/api/security/audit/search", params={"q": "no-db"})).json()["entries"]

    assert (await client.delete(f"/api/security/allowlist/rules/{rule_id}")).status_code == 200
    assert (await client.get(f"/api/security/allowlist/rules/{rule_id}")).status_code == 404
    assert (await client.delete("/api/security/rbac/roles/dev")).status_code == 400  # still used


BAD: list[tuple[str, str, Any, str]] = [
    (
        "POST",
        "/api/security/allowlist/rules",
        {"name": "x", "match_type": "regex", "pattern": "(", "action": "deny"},
        "invalid regular expression",
    ),
    ("POST", "/api/security/allowlist/rules", {"name": "x", "action": "explode"}, "action"),
    ("POST", "/api/security/allowlist/rules", {"name": "x", "action": "deny", "extra": 1}, "extra"),
    ("POST", "/api/security/allowlist/rules", "not json at all", ""),
    ("POST", "/api/security/allowlist/rules", [1, 2], ""),
    (
        "POST",
        "/api/security/allowlist/rules",
        {"name": "x", "action": "deny", "pattern": "t", "parameters": {"p": {"blocked_patterns": "x"}}},
        "blocked_patterns",
    ),
    ("POST", "/api/security/allowlist/rules", {"name": "x", "action": "deny"}, "pattern"),
    ("PUT", "/api/security/allowlist/rules/abc", {}, "rule_id"),
    ("PUT", "/api/security/allowlist/settings", {"default_action": "sometimes"}, "default_action"),
    (
        "POST",
        "/api/security/allowlist/test-pattern",
        {"match_type": "regex", "pattern": "[", "values": ["a"]},
        "invalid regular expression",
    ),
    (
        "POST",
        "/api/security/allowlist/test-pattern",
        {"match_type": "glob", "pattern": "", "values": []},
        "pattern",
    ),
    ("POST", "/api/security/rbac/roles", {"name": "bad name!"}, "name"),
    ("POST", "/api/security/rbac/roles", {"name": "r", "permissions": ["nocolon"]}, "permissions[0]"),
    ("POST", "/api/security/rbac/roles", {"name": "r", "inherits": ["ghost"]}, "unknown role"),
    ("POST", "/api/security/rbac/clients", {"id": "c", "roles": "admin"}, "roles"),
    ("POST", "/api/security/rbac/clients", {"id": "", "roles": []}, "id"),
    ("PUT", "/api/security/rbac/clients/nobody/permissions", {}, "roles and/or permissions"),
    ("POST", "/api/security/rbac/check", {"type": "planet", "name": "x"}, "type"),
    ("GET", "/api/security/audit/entries?limit=0", None, "limit"),
    ("GET", "/api/security/audit/entries?event_type=party", None, "event_type"),
    ("GET", "/api/security/audit/entries?since=not-a-time", None, "since"),
    ("GET", "/api/security/audit/export?format=xml", None, "format"),
    ("GET", "/api/security/audit/search", None, "q"),
    ("POST", "/api/security/audit/retention", {"days": -1}, "days"),
    (
        "POST",
        "/api/security/sanitization/policies",
        {"name": "p", "action": "redact", "categories": ["x"]},
        "categories",
    ),
    ("POST", "/api/security/sanitization/test", {"content": "x", "direction": "up"}, "direction"),
    ("POST", "/api/security/sanitization/test", {"content": "x", "categories": ["nope"]}, "nope"),
    (
        "POST",
        "/api/security/policies/rules",
        {"name": "p", "effect": "deny", "conditions": {"source_ips": ["999.1.1.1"]}},
        "source_ips",
    ),
    ("POST", "/api/security/policies/rules", {"name": "p", "effect": "deny", "conditions": []}, "conditions"),
    ("POST", "/api/security/policies/test", {"tool": "x", "at": "last tuesday"}, "at"),
    ("POST", "/api/security/policies/test", {"tool": ""}, "tool"),
    ("GET", "/api/security/policies/approvals?status=whatever", None, "status"),
    ("POST", "/api/security/test", {"tool": "x", "source_ip": "nope"}, "source_ip"),
    ("POST", "/api/security/test", {"arguments": "x"}, "tool"),
    ("POST", "/api/security/lockdown/activate", {"reason": 5}, "reason"),
    ("POST", "/api/security/lockdown/deactivate", {"reason": []}, "reason"),
    ("PUT", "/api/security/allowlist/rules/1", {"action": "x"}, "action"),
    ("DELETE", "/api/security/allowlist/rules/xyz", None, "rule_id"),
    ("POST", "/api/security/allowlist/test", {"kind": "server", "name": "x"}, "kind"),
    ("PUT", "/api/security/rbac/roles/x", {"inherits": "a"}, "inherits"),
    ("PUT", "/api/security/rbac/clients/x", {"enabled": "maybe"}, "enabled"),
    ("POST", "/api/security/rbac/templates", {"name": ""}, "name"),
    ("PUT", "/api/security/rbac/templates/x", {"roles": [1]}, "roles"),
    ("POST", "/api/security/rbac/templates/x/apply", {}, "client_id"),
    ("GET", "/api/security/audit/violations?limit=-5", None, "limit"),
    ("GET", "/api/security/audit/entries?offset=-1", None, "offset"),
    ("GET", "/api/security/sanitization/policies/abc", None, "policy_id"),
    ("PUT", "/api/security/sanitization/policies/1", {"action": "nuke"}, "action"),
    ("PUT", "/api/security/policies/rules/1", {"effect": "perhaps"}, "effect"),
    ("DELETE", "/api/security/policies/rules/abc", None, "rule_id"),
    ("POST", "/api/security/policies/approvals/x/approve", {"note": 7}, "note"),
    ("POST", "/api/security/policies/approvals/x/deny", {"note": 7}, "note"),
    ("POST", "/api/security/rbac/roles", {"name": "a\x00b"}, "NUL"),
    ("POST", "/api/security/sanitization/test", {"content": {"k": ["\x00"]}}, "body.content.k[0]: NUL"),
    ("GET", "/api/security/rbac/roles/a%00b", None, "NUL"),
    ("GET", "/api/security/audit/search?q=%00", None, "NUL"),
]


@pytest.mark.anyio
async def test_bad_input_is_400_with_a_message(api: tuple[httpx.AsyncClient, Any]) -> None:
    client, _ = api
    for method, url, body, fragment in BAD:
        kwargs: dict[str, Any] = {}
        if isinstance(body, str):
            kwargs = {"content": body, "headers": {**AUTH, "content-type": "application/json"}}
        elif body is not None:
            kwargs = {"json": body}
        r = await client.request(method, url, **kwargs)
        assert r.status_code == 400, (method, url, r.status_code, r.text)
        assert fragment in r.text, (method, url, r.text)


@pytest.mark.anyio
async def test_not_found_and_conflicts(api: tuple[httpx.AsyncClient, Any]) -> None:
    client, _ = api
    for url in (
        "/api/security/allowlist/rules/999",
        "/api/security/rbac/roles/ghost",
        "/api/security/rbac/clients/ghost",
        "/api/security/rbac/templates/ghost",
        "/api/security/audit/entries/ghost",
        "/api/security/sanitization/policies/5",
        "/api/security/policies/rules/5",
        "/api/security/rbac/clients/ghost/permissions",
    ):
        r = await client.get(url)
        assert r.status_code == 404 and "not found" in r.text, url
    assert (await client.post("/api/security/policies/approvals/ghost/approve")).status_code == 404
    assert (await client.put("/api/security/rbac/roles/ghost", json={})).status_code == 404
    assert (await client.delete("/api/security/sanitization/policies/5")).status_code == 404
    body = {"name": "dup", "pattern": "x", "action": "deny"}
    assert (await client.post("/api/security/allowlist/rules", json=body)).status_code == 201
    r = await client.post("/api/security/allowlist/rules", json=body)
    assert r.status_code == 409 and "already exists" in r.text


@pytest.mark.anyio
async def test_no_route_answers_500_to_garbage(api: tuple[httpx.AsyncClient, Any]) -> None:
    client, app = api
    odd_ids = ("0", "-1", "99999999999999999999", "..%2F..%2Fetc", "x" * 300, "%00")
    bodies: list[dict[str, Any]] = [
        {"content": b"\xff\xfe garbage", "headers": {**AUTH, "content-type": "application/json"}},
        {"json": {"unexpected": [1, {"x": None}]}},
        {"json": None},
        {"json": ["a", 1]},
    ]
    for path, item in app.openapi()["paths"].items():
        if not path.startswith("/api/security"):
            continue
        for method in item:
            for odd in odd_ids:
                url = path
                for param in (
                    "{rule_id}",
                    "{policy_id}",
                    "{name}",
                    "{client_id}",
                    "{entry_id}",
                    "{approval_id}",
                ):
                    url = url.replace(param, odd)
                for kwargs in bodies if method in ("post", "put") else [{}]:
                    r = await client.request(method.upper(), url, **kwargs)
                    assert r.status_code < 500, (method, url, kwargs, r.status_code, r.text)
                    assert r.headers["content-type"].startswith(
                        ("application/json", "text/csv", "application/x-ndjson")
                    ), (method, url)
