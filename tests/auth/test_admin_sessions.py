"""Administrators over real HTTP: bootstrap, login, cookies + CSRF, JWT, forced password
change, logout revocation, lock-out, rate limiting, roles, user management (SQLite + PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from magictunnel.web.app import create_app
from tests.auth.conftest import ADMIN_PASSWORD, make_gateway, serve

NEW_PASSWORD = "A-much-better-passw0rd"


@pytest.fixture
async def base(tmp_path: Path, db_url: str) -> AsyncIterator[str]:
    gateway = make_gateway(
        tmp_path, db_url, auth={"login": {"max_attempts": 3, "lockout_seconds": 60, "ip_max_attempts": 12}}
    )
    async with serve(create_app(gateway)) as url:
        yield url


async def _login(client: httpx.AsyncClient, user: str = "admin", password: str = ADMIN_PASSWORD) -> dict:
    r = await client.post("/api/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


async def _ready_admin(client: httpx.AsyncClient) -> dict:
    body = await _login(client)
    r = await client.post(
        "/api/auth/password",
        headers={"X-CSRF-Token": body["csrf_token"]},
        json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert r.status_code == 200, r.text
    return body


@pytest.mark.anyio
async def test_first_login_must_change_password_then_full_access(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        body = await _login(client)
        assert body["must_change_password"] is True
        assert body["user"]["roles"] == ["system-admin"]
        cookies = {c.name: c for c in client.cookies.jar}
        assert "mt_session" in cookies and "mt_csrf" in cookies
        r = await client.get("/api/auth/users")
        assert r.status_code == 403 and "password change required" in r.json()["error"]
        # cookie-authenticated state change without the CSRF header is refused
        r = await client.post(
            "/api/auth/password", json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD}
        )
        assert r.status_code == 403 and "CSRF" in r.json()["error"]
        r = await client.post(
            "/api/auth/password",
            headers={"X-CSRF-Token": "wrong"},
            json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert r.status_code == 403
        r = await client.post(
            "/api/auth/password",
            headers={"X-CSRF-Token": body["csrf_token"]},
            json={"current_password": ADMIN_PASSWORD, "new_password": "short"},
        )
        assert r.status_code == 400 and "at least" in r.json()["error"]
        r = await client.post(
            "/api/auth/password",
            headers={"X-CSRF-Token": body["csrf_token"]},
            json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert r.status_code == 200
        r = await client.get("/api/auth/users")
        assert r.status_code == 200
        assert [u["username"] for u in r.json()["users"]] == ["admin"]
    async with httpx.AsyncClient(base_url=base) as fresh:
        r = await fresh.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 401
        assert (await _login(fresh, password=NEW_PASSWORD))["must_change_password"] is False


@pytest.mark.anyio
async def test_bearer_jwt_and_logout_revokes_cookie_and_token(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        await _ready_admin(client)
        body = await _login(client, password=NEW_PASSWORD)
        token = body["access_token"]
    async with httpx.AsyncClient(base_url=base) as api:
        auth = {"Authorization": f"Bearer {token}"}
        r = await api.get("/api/auth/current-user", headers=auth)
        assert r.status_code == 200 and r.json()["method"] == "jwt"
        # bearer requests need no CSRF token (not cookie-authenticated)
        r = await api.post(
            "/api/auth/users",
            headers=auth,
            json={"username": "viewer", "password": "Viewer-passw0rd-1", "roles": ["read-only-viewer"]},
        )
        assert r.status_code == 201, r.text
        tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        assert (
            await api.get("/api/auth/current-user", headers={"Authorization": f"Bearer {tampered}"})
        ).status_code == 401
        r = await api.post("/api/auth/logout", headers=auth)
        assert r.status_code == 200
        assert (await api.get("/api/auth/current-user", headers=auth)).status_code == 401


@pytest.mark.anyio
async def test_cookie_logout_revokes_session(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        body = await _ready_admin(client)
        session_cookie = client.cookies.get("mt_session")
        r = await client.post("/api/auth/logout", headers={"X-CSRF-Token": body["csrf_token"]})
        assert r.status_code == 200
    async with httpx.AsyncClient(base_url=base, cookies={"mt_session": session_cookie}) as replay:
        assert (await replay.get("/api/auth/current-user")).status_code == 401
    forged = session_cookie.rsplit(".", 1)[0] + ".0000"
    async with httpx.AsyncClient(base_url=base, cookies={"mt_session": forged}) as forger:
        assert (await forger.get("/api/auth/current-user")).status_code == 401


@pytest.mark.anyio
async def test_lockout_after_repeated_failures(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(3):
            r = await client.post("/api/auth/login", json={"username": "admin", "password": "nope-nope-nope"})
            assert r.status_code == 401
            assert r.json()["error"] == "invalid user name or password"
        r = await client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
        assert r.status_code == 423 and "locked" in r.json()["error"]
        # unknown users answer exactly like wrong passwords
        r = await client.post("/api/auth/login", json={"username": "ghost", "password": "whatever-it-is"})
        assert r.status_code == 401 and r.json()["error"] == "invalid user name or password"


@pytest.mark.anyio
async def test_login_rate_limit_per_address(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        statuses = []
        for i in range(14):
            r = await client.post("/api/auth/login", json={"username": f"u{i}", "password": "x-y-z-w-v"})
            statuses.append(r.status_code)
        assert statuses[:12] == [401] * 12
        assert statuses[12:] == [429, 429]
        assert "Retry-After" in r.headers


@pytest.mark.anyio
async def test_roles_limit_operations_and_user_management(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as admin:
        body = await _ready_admin(admin)
        csrf = {"X-CSRF-Token": body["csrf_token"]}
        for name, role in (
            ("tools", "tool-manager"),
            ("auditor", "security-auditor"),
            ("viewer", "read-only-viewer"),
        ):
            r = await admin.post(
                "/api/auth/users",
                headers=csrf,
                json={"username": name, "password": f"{name.title()}-Passw0rd-xyz", "roles": [role]},
            )
            assert r.status_code == 201, r.text
        r = await admin.post(
            "/api/auth/users",
            headers=csrf,
            json={"username": "bad", "password": "Bad-passw0rd-xyz", "roles": ["superuser"]},
        )
        assert r.status_code == 400 and "unknown role" in r.json()["error"]
        r = await admin.post(
            "/api/auth/users",
            headers=csrf,
            json={"username": "tools", "password": "x" * 20, "roles": ["tool-manager"]},
        )
        assert r.status_code == 409
        r = await admin.post("/api/auth/users", headers=csrf, json={"username": "x", "roles": "oops"})
        assert r.status_code == 400

    async def client_for(name: str) -> tuple[httpx.AsyncClient, dict]:
        c = httpx.AsyncClient(base_url=base)
        b = await _login(c, name, f"{name.title()}-Passw0rd-xyz")
        new = f"{name.title()}-New-passw0rd-1"
        r = await c.post(
            "/api/auth/password",
            headers={"X-CSRF-Token": b["csrf_token"]},
            json={"current_password": f"{name.title()}-Passw0rd-xyz", "new_password": new},
        )
        assert r.status_code == 200, r.text
        return c, {"Authorization": f"Bearer {(await _login(c, name, new))['access_token']}"}

    viewer, vh = await client_for("viewer")
    auditor, ah = await client_for("auditor")
    tools, th = await client_for("tools")
    try:
        # read-only viewer: may look at notifications/navigation, not users or API keys
        assert (await viewer.get("/api/notifications", headers=vh)).status_code == 200
        assert (await viewer.get("/api/auth/users", headers=vh)).status_code == 403
        r = await viewer.post("/api/auth/api-keys", headers=vh, json={"name": "k"})
        assert r.status_code == 403 and "may not perform" in r.json()["error"]
        # auditor reads users and keys, cannot create them
        assert (await auditor.get("/api/auth/users", headers=ah)).status_code == 200
        assert (await auditor.get("/api/auth/api-keys", headers=ah)).status_code == 200
        assert (await auditor.post("/api/auth/api-keys", headers=ah, json={"name": "k"})).status_code == 403
        # tool manager: upstream sign-ins yes, users no
        assert (await tools.get("/api/auth/upstream-oauth/servers", headers=th)).status_code == 200
        assert (await tools.delete("/api/auth/users/viewer", headers=th)).status_code == 403
    finally:
        for c in (viewer, auditor, tools):
            await c.aclose()

    async with httpx.AsyncClient(base_url=base) as admin:
        token = (await _login(admin, password=NEW_PASSWORD))["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        r = await admin.patch("/api/auth/users/viewer", headers=h, json={"disabled": True})
        assert r.status_code == 200 and r.json()["disabled"] is True
        # a disabled user's live session stops working at once
        assert (await admin.get("/api/auth/current-user", headers=vh)).status_code == 401
        r = await admin.post(
            "/api/auth/login", json={"username": "viewer", "password": "Viewer-New-passw0rd-1"}
        )
        assert r.status_code == 401
        assert (await admin.delete("/api/auth/users/admin", headers=h)).status_code == 400
        assert (
            await admin.patch("/api/auth/users/admin", headers=h, json={"roles": ["tool-manager"]})
        ).status_code == 400
        r = await admin.post(
            "/api/auth/users/tools/password", headers=h, json={"new_password": "Reset-passw0rd-99"}
        )
        assert r.status_code == 200 and r.json()["must_change_password"] is True
        assert (await admin.delete("/api/auth/users/auditor", headers=h)).status_code == 200
        assert (await admin.get("/api/auth/users/auditor", headers=h)).status_code == 404
        names = [u["username"] for u in (await admin.get("/api/auth/users", headers=h)).json()["users"]]
        assert names == ["admin", "tools", "viewer"]


@pytest.mark.anyio
async def test_store_purges_long_expired_sessions(db_url: str) -> None:
    import time

    from magictunnel.auth.store import AuthStore
    from magictunnel.storage import Storage
    from magictunnel.storage.models.auth import AdminSessionRow

    storage = Storage(db_url)
    await storage.start()
    try:
        store = AuthStore(storage)
        now = time.time()
        for key, expires in (("old", now - 3 * 86400), ("live", now + 3600)):
            await store.add_session(
                AdminSessionRow(
                    id_hash=key * 8,
                    username="u",
                    method="password",
                    csrf_token="c",
                    created_at=now,
                    expires_at=expires,
                )
            )
        assert await store.purge_sessions(now - 86400) == 1
        assert await store.get_session("old" * 8) is None and await store.get_session("live" * 8) is not None
    finally:
        await storage.close()
