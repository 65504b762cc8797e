"""Administrator notifications (fed by lockdown, violations, failing services and other
features) and role-filtered navigation/search."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from magictunnel.core.services import ServiceSpec
from magictunnel.web.app import create_app
from tests.auth.conftest import ADMIN_PASSWORD, make_gateway, serve

TOKEN = "notif-admin-token-0123456789"
H = {"Authorization": f"Bearer {TOKEN}"}


async def _wait_for(client: httpx.AsyncClient, predicate, timeout: float = 10.0) -> list[dict]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        items = (await client.get("/api/notifications")).json()["notifications"]
        if predicate(items) or asyncio.get_running_loop().time() > deadline:
            return items
        await asyncio.sleep(0.1)


@pytest.mark.anyio
async def test_notifications_from_lockdown_services_and_features(tmp_path: Path, db_url: str) -> None:
    gateway = make_gateway(
        tmp_path,
        db_url,
        deployment={"runtime_mode": "advanced"},
        security={"admin_token": TOKEN},
        auth={"notification_poll_seconds": 0.1},
    )

    async def broken() -> None:
        raise RuntimeError("upstream server 'weather' crashed")

    gateway.services.add(ServiceSpec("weather-upstream", broken, optional=True))
    async with serve(create_app(gateway)) as base, httpx.AsyncClient(base_url=base, headers=H) as client:
        items = await _wait_for(client, lambda xs: any(x["category"] == "service" for x in xs))
        crash = next(x for x in items if x["category"] == "service")
        assert crash["title"] == "service weather-upstream failed" and "crashed" in crash["message"]
        assert crash["severity"] == "error" and crash["read"] is False

        r = await client.post("/api/security/lockdown/activate", json={"reason": "incident 42"})
        assert r.status_code == 200, r.text
        items = await _wait_for(client, lambda xs: any(x["category"] == "lockdown" for x in xs))
        lock = next(x for x in items if x["category"] == "lockdown")
        assert lock["severity"] == "critical" and "incident 42" in lock["title"]
        await client.post("/api/security/lockdown/deactivate", json={})
        items = await _wait_for(client, lambda xs: sum(x["category"] == "lockdown" for x in xs) == 2)
        assert "deactivated" in items[0]["title"]

        sent = await gateway.extensions["notifications"].notify(
            "certificate expires soon", "in 3 days", "warning", "system"
        )
        body = (await client.get("/api/notifications")).json()
        assert body["notifications"][0]["id"] == sent["id"]  # newest first
        unread = body["unread"]
        assert unread == 4  # service failure, lockdown on, lockdown off, certificate
        r = await client.post(f"/api/notifications/{sent['id']}/read")
        assert r.status_code == 200
        body = (await client.get("/api/notifications")).json()
        assert body["unread"] == unread - 1
        assert next(x for x in body["notifications"] if x["id"] == sent["id"])["read"] is True
        assert (await client.post("/api/notifications/999999/read")).status_code == 404
        assert (await client.post("/api/notifications/abc/read")).status_code == 400
        assert (await client.get("/api/notifications", params={"limit": 0})).status_code == 400
        assert (await client.post("/api/notifications/mark-all-read")).json()["marked"] == unread - 1
        body = (await client.get("/api/notifications", params={"unread_only": True})).json()
        assert body == {"notifications": [], "unread": 0}


@pytest.mark.anyio
async def test_navigation_and_search_follow_roles(tmp_path: Path, sqlite_url: str) -> None:
    caps = tmp_path / "caps"
    caps.mkdir()
    (caps / "t.yaml").write_text("""
tools:
  - name: weather_lookup
    description: Weather for a city
    inputSchema: {type: object, properties: {}}
    routing: {type: subprocess, config: {command: echo, args: ["sunny"]}}
""")
    gateway = make_gateway(
        tmp_path, sqlite_url, registry={"paths": [str(caps)]}, security={"admin_token": TOKEN}
    )
    async with serve(create_app(gateway)) as base, httpx.AsyncClient(base_url=base, headers=H) as admin:
        full = {i["id"] for i in (await admin.get("/api/navigation/items")).json()["items"]}
        assert {"users", "api-keys", "vault", "security", "tools"} <= full
        r = await admin.post(
            "/api/auth/users",
            json={"username": "viewer", "password": "Viewer-Passw0rd-xyz", "roles": ["read-only-viewer"]},
        )
        assert r.status_code == 201
        results = (await admin.get("/api/search/items", params={"q": "weather"})).json()["items"]
        assert {
            "type": "tool",
            "id": "weather_lookup",
            "label": "weather_lookup",
            "path": "/dashboard/tools/weather_lookup",
        } in results
        users = (await admin.get("/api/search/items", params={"q": "view"})).json()["items"]
        assert any(i["type"] == "user" and i["id"] == "viewer" for i in users)
        assert (await admin.get("/api/search/items", params={"q": "x" * 300})).status_code == 400

    async with serve(create_app(make_gateway(tmp_path, sqlite_url, registry={"paths": [str(caps)]}))) as base:
        async with httpx.AsyncClient(base_url=base) as viewer:
            r = await viewer.post(
                "/api/auth/login", json={"username": "viewer", "password": "Viewer-Passw0rd-xyz"}
            )
            csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
            await viewer.post(
                "/api/auth/password",
                headers=csrf,
                json={"current_password": "Viewer-Passw0rd-xyz", "new_password": "Viewer-Passw0rd-new"},
            )
            items = {i["id"] for i in (await viewer.get("/api/navigation/items")).json()["items"]}
            assert "tools" in items and "dashboard" in items
            assert not items & {"users", "api-keys", "vault"}
            results = (await viewer.get("/api/search/items", params={"q": "view"})).json()["items"]
            assert not any(i["type"] == "user" for i in results)
            assert any(
                i["type"] == "tool"
                for i in (await viewer.get("/api/search/items", params={"q": "weather"})).json()["items"]
            )
    assert ADMIN_PASSWORD  # the admin account exists but was not needed: the token is break-glass


@pytest.mark.anyio
async def test_auth_events_are_audited(tmp_path: Path, sqlite_url: str) -> None:
    gateway = make_gateway(
        tmp_path, sqlite_url, deployment={"runtime_mode": "advanced"}, security={"admin_token": TOKEN}
    )
    async with serve(create_app(gateway)) as base, httpx.AsyncClient(base_url=base) as client:
        await client.post("/api/auth/login", json={"username": "admin", "password": "wrong-password-x"})
        body = (
            await client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        ).json()
        r = await client.post("/api/auth/api-keys", headers=H, json={"name": "audited"})
        assert r.status_code == 201
        await client.post("/api/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
        entries = (
            await client.get(
                "/api/security/audit/entries", headers=H, params={"event_type": "auth", "limit": 50}
            )
        ).json()["entries"]
        seen = {(e["action"], e["outcome"]) for e in entries}
        assert {
            ("login", "failure"),
            ("login", "success"),
            ("apikey.create", "success"),
            ("logout", "success"),
            ("user.bootstrap", "success"),
        } <= seen
        assert all(ADMIN_PASSWORD not in str(e) and "wrong-password-x" not in str(e) for e in entries)
