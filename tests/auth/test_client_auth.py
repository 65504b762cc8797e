"""MCP client credentials on every transport: API keys and OAuth 2.1 JWTs (RFC 9728 metadata,
WWW-Authenticate challenges, audience/resource checks, insufficient_scope step-up)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from magictunnel.web.app import create_app
from tests.auth.conftest import CAPS, make_gateway, serve
from tests.auth.fake_idp import FakeIdP
from tests.support.ws_client import websocket_client

ADMIN = {"Authorization": "Bearer admin-token-0123456789"}


@dataclass
class Env:
    base: str
    idp: FakeIdP
    seen: list[Any]

    @property
    def mcp(self) -> str:
        return f"{self.base}/mcp"


@pytest.fixture
async def env(tmp_path: Path, db_url: str, idp: FakeIdP) -> AsyncIterator[Env]:
    caps = tmp_path / "caps"
    caps.mkdir()
    (caps / "basic.yaml").write_text(CAPS)
    gateway = make_gateway(
        tmp_path,
        db_url,
        deployment={"runtime_mode": "advanced"},
        registry={"paths": [str(caps)]},
        security={"admin_token": ADMIN["Authorization"][7:]},
        auth={
            "oauth": {
                "issuer": idp.issuer,
                "scopes_supported": ["mcp:tools", "mcp:admin"],
                "required_scopes": ["mcp:tools"],
            }
        },
    )
    seen: list[Any] = []

    async def capture(ctx: Any, call: Any, nxt: Any) -> Any:
        seen.append(ctx.identity)
        return await nxt(ctx, call)

    gateway.add_middleware(capture, "audit")
    async with serve(create_app(gateway)) as base:
        async with httpx.AsyncClient(base_url=base, headers=ADMIN) as admin:
            for role in ("developer", "analyst"):  # RBAC (security feature) sees the identity's roles
                r = await admin.post(
                    "/api/security/rbac/roles", json={"name": role, "permissions": ["tool:*"]}
                )
                assert r.status_code == 201, r.text
        yield Env(base, idp, seen)


def _client(url: str, token: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Client(streamable_http_client(url, http_client=http), mode="legacy")


async def _call_echo(client: Client) -> str:
    result = await client.call_tool("echo", {"message": "hi"})
    return result.content[0].text.strip()


@pytest.mark.anyio
async def test_unauthenticated_gets_challenge_and_metadata(env: Env) -> None:
    async with httpx.AsyncClient() as http:
        r = await http.post(env.mcp, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert r.status_code == 401
        challenge = r.headers["www-authenticate"]
        prm_url = f"{env.base}/.well-known/oauth-protected-resource/mcp"
        assert challenge.startswith("Bearer ") and f'resource_metadata="{prm_url}"' in challenge
        assert 'scope="mcp:tools"' in challenge
        meta = (await http.get(prm_url)).json()
        assert meta["resource"] == env.mcp
        assert meta["authorization_servers"] == [env.idp.issuer]
        assert meta["scopes_supported"] == ["mcp:tools", "mcp:admin"]
        assert (await http.get(f"{env.base}/.well-known/oauth-protected-resource")).json()[
            "resource"
        ] == env.mcp
        assert (await http.get(f"{env.base}/sse")).status_code == 401
        r = await http.post(env.mcp, json={}, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert r.status_code == 401 and 'error="invalid_request"' in r.headers["www-authenticate"]


@pytest.mark.anyio
async def test_api_key_on_every_transport_then_revoked(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.base, headers=ADMIN) as admin:
        r = await admin.post(
            "/api/auth/api-keys",
            json={
                "name": "ci agent",
                "client_id": "ci-agent",
                "roles": ["developer"],
                "scopes": ["mcp:tools"],
            },
        )
        assert r.status_code == 201, r.text
        created = r.json()
        key = created["key"]
        assert key.startswith("mt_") and "not shown again" in created["note"]
        listed = (await admin.get("/api/auth/api-keys")).json()["api_keys"]
        assert listed[0]["status"] == "active" and key not in str(listed)
        bad = await admin.post("/api/auth/api-keys", json={"name": "", "roles": []})
        assert bad.status_code == 400
        bad = await admin.post("/api/auth/api-keys", json={"name": "x", "expires_in_days": -1})
        assert bad.status_code == 400 and "expires_in_days" in bad.json()["error"]

    async with _client(env.mcp, key) as client:
        assert await _call_echo(client) == "hi"
    async with Client(
        sse_client(f"{env.base}/sse", headers={"Authorization": f"Bearer {key}"}), mode="legacy"
    ) as client:
        assert await _call_echo(client) == "hi"
    ws_url = env.base.replace("http://", "ws://") + "/mcp/ws"
    async with Client(
        websocket_client(ws_url, headers={"Authorization": f"Bearer {key}"}), mode="legacy"
    ) as client:
        assert await _call_echo(client) == "hi"
    assert len(env.seen) == 3
    for identity in env.seen:
        assert identity.client_id == "ci-agent" and identity.authenticated
        assert identity.auth_method == "api_key" and identity.roles == ("developer",)
        assert key not in repr(identity)  # the credential itself never travels with the call

    async with httpx.AsyncClient(base_url=env.base, headers=ADMIN) as admin:
        assert (await admin.delete(f"/api/auth/api-keys/{created['id']}")).status_code == 200
        assert (await admin.delete("/api/auth/api-keys/nope")).status_code == 404
    async with httpx.AsyncClient() as http:
        r = await http.post(
            env.mcp,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
        r = await http.post(env.mcp, json={}, headers={"Authorization": f"Bearer {key[:-2]}xx"})
        assert r.status_code == 401


@pytest.mark.anyio
async def test_api_key_expiry(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.base, headers=ADMIN) as admin:
        key = (
            await admin.post("/api/auth/api-keys", json={"name": "short", "expires_in_days": 1 / 86400})
        ).json()["key"]
    await asyncio.sleep(1.2)
    async with httpx.AsyncClient() as http:
        r = await http.post(env.mcp, json={}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 401


@pytest.mark.anyio
async def test_oauth_jwt_audience_expiry_signature_and_step_up(env: Env) -> None:
    good = env.idp.access_token(env.mcp, "mcp:tools", sub="agent-7", roles=["analyst"])
    async with _client(env.mcp, good) as client:
        assert await _call_echo(client) == "hi"
    identity = env.seen[-1]
    assert (identity.client_id, identity.auth_method, identity.roles) == ("agent-7", "oauth", ("analyst",))
    assert identity.scopes == ("mcp:tools",)

    async def post(token: str) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.post(
                env.mcp,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"Authorization": f"Bearer {token}"},
            )

    r = await post(env.idp.access_token("http://elsewhere.example/mcp", "mcp:tools"))
    assert r.status_code == 401
    assert (
        'error="invalid_token"' in r.headers["www-authenticate"]
        and "audience" in r.headers["www-authenticate"]
    )
    r = await post(env.idp.access_token(env.mcp, "mcp:tools", ttl=-120))
    assert r.status_code == 401 and "expired" in r.headers["www-authenticate"]
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = env.idp.sign(
        {"iss": env.idp.issuer, "aud": env.mcp, "exp": 9999999999, "scope": "mcp:tools"}, key=other_key
    )
    assert (await post(forged)).status_code == 401
    # a client cannot move the audience check with forwarded headers or a foreign Host
    evil = env.idp.access_token("http://evil.example/mcp", "mcp:tools")
    async with httpx.AsyncClient() as http:
        for extra in ({"X-Forwarded-Host": "evil.example"}, {"Host": "evil.example"}):
            r = await http.post(
                env.mcp,
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                headers={"Authorization": f"Bearer {evil}", **extra},
            )
            assert r.status_code == 401, extra
    r = await post(env.idp.access_token(env.mcp, "profile"))
    assert r.status_code == 403
    challenge = r.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="mcp:tools profile"' in challenge
    assert "resource_metadata=" in challenge
