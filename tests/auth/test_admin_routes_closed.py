"""Every admin route of the real app (web/app.py create_app, all feature routers) refuses a
caller without credentials; public routes are an explicit, short list."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from magictunnel.web.app import create_app
from tests.auth.conftest import make_gateway, serve

# routes that must answer without admin credentials, and why
PUBLIC = {
    ("GET", "/health"): "liveness probe",
    ("GET", "/api/mode"): "runtime mode, no secrets",
    ("GET", "/api/status"): "states and counts for monitoring; details only for admins",
    ("GET", "/api/auth/providers"): "the login page lists sign-in methods",
    ("POST", "/api/auth/login"): "signing in",
    ("GET", "/api/auth/oidc/{name}/login"): "redirect to the identity provider",
    ("GET", "/api/auth/oidc/{name}/callback"): "identity provider redirect target",
    ("GET", "/api/auth/upstream-oauth/callback"): "upstream authorization server redirect target",
    ("GET", "/.well-known/oauth-protected-resource"): "RFC 9728 metadata",
    ("GET", "/.well-known/oauth-protected-resource/{resource_path}"): "RFC 9728 metadata",
}
# MCP-client-facing REST (authenticated as MCP clients, not admins)
CLIENT_FACING = re.compile(r"^/api/tools(/|$)")


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path.replace(":path}", "}"))


@pytest.mark.anyio
async def test_no_admin_route_answers_without_credentials(tmp_path: Path, sqlite_url: str) -> None:
    gateway = make_gateway(tmp_path, sqlite_url)
    app = create_app(gateway)
    assert app.state.router_errors == {}
    schema = app.openapi()
    operations = [
        (method.upper(), path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 20
    unprotected = []
    async with serve(app) as base, httpx.AsyncClient(base_url=base) as client:
        for method, path, _op in operations:
            if (method, path) in PUBLIC or CLIENT_FACING.match(path):
                continue
            url = _fill(path)
            for headers in (
                {},
                {"Authorization": "Bearer not-a-valid-token"},
                {"Cookie": "mt_session=forged.0000"},
            ):
                r = await client.request(method, url, headers=headers, json={})
                if r.status_code != 401:
                    unprotected.append(
                        f"{method} {path} with {headers or 'no credentials'} -> {r.status_code}"
                    )
    assert unprotected == [], "admin routes answering without valid credentials:\n" + "\n".join(unprotected)


@pytest.mark.anyio
async def test_break_glass_admin_token(tmp_path: Path, sqlite_url: str) -> None:
    gateway = make_gateway(tmp_path, sqlite_url, security={"admin_token": "break-glass-token-123456"})
    async with serve(create_app(gateway)) as base, httpx.AsyncClient(base_url=base) as client:
        r = await client.get("/api/auth/users", headers={"Authorization": "Bearer break-glass-token-123456"})
        assert r.status_code == 200
        r = await client.get(
            "/api/auth/current-user", headers={"Authorization": "Bearer break-glass-token-123456"}
        )
        assert r.json()["method"] == "admin_token"
        assert (
            await client.get("/api/auth/users", headers={"Authorization": "Bearer break-glass-token-12345"})
        ).status_code == 401
