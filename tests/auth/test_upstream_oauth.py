"""MagicTunnel's OAuth client for remote MCP servers, against a real protected MCP server
(a MagicTunnel in advanced mode validating the fake issuer's JWTs) over loopback HTTP."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp.shared.auth import AuthorizationCodeResult

from magictunnel.auth.upstream.manager import UpstreamLoginRequired
from magictunnel.web.app import create_app
from tests.auth.conftest import Remote, make_gateway, serve
from tests.auth.fake_idp import FakeIdP
from tests.auth.upstream_remote import echo_with, oauth_manager


def _headless(idp: FakeIdP) -> tuple:
    """Handlers that play the user's browser: open the URL, read the redirect back."""
    seen: dict[str, str] = {}

    async def redirect(url: str) -> None:
        async with httpx.AsyncClient() as browser:
            r = await browser.get(url)
        assert r.status_code == 302, r.text
        seen["location"] = r.headers["location"]

    async def callback() -> AuthorizationCodeResult:
        q = httpx.URL(seen["location"]).params
        return AuthorizationCodeResult(code=q["code"], state=q.get("state"), iss=q.get("iss"))

    return redirect, callback


@pytest.mark.anyio
async def test_code_flow_with_dynamic_registration_then_connect(tmp_path: Path, remote: Remote) -> None:
    manager = oauth_manager(tmp_path, remote)
    assert manager.auth_if_configured("remote") is None  # nothing configured or stored yet
    with pytest.raises(UpstreamLoginRequired, match="magictunnel auth upstream login remote"):
        async with httpx2.AsyncClient(auth=manager.auth_for("remote")) as http:
            await http.post(remote.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    status = await manager.login_code("remote", None, *_headless(remote.idp))
    assert status["signed_in"] and status["has_refresh_token"] and status["issuer"] == remote.idp.issuer
    assert status["client_id"].startswith("dyn-")  # registered dynamically (RFC 7591)
    authorize = remote.idp.authorize_requests[-1]
    assert authorize["resource"] == remote.url and authorize["code_challenge_method"] == "S256"
    # stored encrypted in the vault
    raw = (tmp_path / "client-vault" / "vault.json").read_text()
    token = await manager.get_token("remote")
    assert token and token not in raw and "upstream_oauth/remote" in raw
    assert await echo_with(manager.auth_if_configured("remote"), remote.url) == "upstream"
    async with httpx.AsyncClient(auth=manager.httpx_auth("remote")) as http:
        r = await http.post(
            remote.url,
            json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert r.status_code != 401


@pytest.mark.anyio
async def test_background_refresh(tmp_path: Path, remote: Remote) -> None:
    manager = oauth_manager(tmp_path, remote, refresh_margin_seconds=300)
    await manager.login_code("remote", None, *_headless(remote.idp))
    first = await manager.get_token("remote")
    assert await manager.refresh_due() == []  # an hour left: nothing due
    manager.storage("remote").update(expires_at=time.time() + 60)
    assert await manager.refresh_due() == ["remote"]
    refreshed = manager.storage("remote").record()
    assert refreshed["tokens"]["access_token"] != first and refreshed["expires_at"] > time.time() + 3000
    last = remote.idp.token_requests[-1]
    assert last["grant_type"] == "refresh_token" and last["resource"] == remote.url
    assert await echo_with(manager.auth_for("remote"), remote.url) == "upstream"
    # the loop itself
    manager.settings.refresh_interval_seconds = 0.05
    manager.storage("remote").update(expires_at=time.time() + 10)
    manager.start()
    try:
        for _ in range(100):
            if manager.storage("remote").record()["expires_at"] > time.time() + 3000:
                break
            await asyncio.sleep(0.05)
        assert manager.storage("remote").record()["expires_at"] > time.time() + 3000
    finally:
        await manager.stop()


@pytest.mark.anyio
async def test_device_flow(tmp_path: Path, remote: Remote) -> None:
    manager = oauth_manager(tmp_path, remote)
    shown: list[dict] = []

    def show(info: dict) -> None:
        shown.append(info)
        assert remote.idp.approve_device(info["user_code"])  # the user approves on another device

    status = await manager.device_login("remote", None, show, max_wait=20)
    assert shown[0]["verification_uri"].endswith("/device") and status["signed_in"]
    assert remote.idp.token_requests[-1]["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
    assert await echo_with(manager.auth_for("remote"), remote.url) == "upstream"


@pytest.mark.anyio
async def test_preregistered_client_with_secret(tmp_path: Path, remote: Remote) -> None:
    remote.idp.clients["mt-pre"] = {"client_id": "mt-pre", "client_secret": "pre-secret"}
    manager = oauth_manager(
        tmp_path, remote, servers={"remote": {"client_id": "mt-pre", "client_secret": "pre-secret"}}
    )
    status = await manager.login_code("remote", None, *_headless(remote.idp))
    assert status["client_id"] == "mt-pre" and set(remote.idp.clients) == {"mt-pre"}  # no registration
    assert await echo_with(manager.auth_for("remote"), remote.url) == "upstream"
    assert manager.sign_out("remote") and await manager.get_token("remote") is None


@pytest.mark.anyio
async def test_dashboard_sign_in_over_rest(tmp_path: Path, db_url: str, remote: Remote) -> None:
    admin_gateway = make_gateway(
        tmp_path / "admin",
        db_url,
        security={"admin_token": "adm-0123456789abcdef"},
        external_mcp={"servers": {"remote": {"url": remote.url}}},
    )
    h = {"Authorization": "Bearer adm-0123456789abcdef"}
    async with serve(create_app(admin_gateway)) as base, httpx.AsyncClient(base_url=base, headers=h) as api:
        r = await api.post("/api/auth/upstream-oauth/remote/login")
        assert r.status_code == 200, r.text
        authorize = r.json()["authorization_url"]
        assert httpx.URL(authorize).params["redirect_uri"] == f"{base}/api/auth/upstream-oauth/callback"
        async with httpx.AsyncClient(follow_redirects=True) as browser:  # issuer -> MagicTunnel callback
            r = await browser.get(authorize)
        assert r.status_code == 200 and "Signed in" in r.text
        for _ in range(100):
            servers = (await api.get("/api/auth/upstream-oauth/servers")).json()["servers"]
            if servers and servers[0]["signed_in"]:
                break
            await asyncio.sleep(0.05)
        assert servers[0]["server"] == "remote" and servers[0]["signed_in"]
        upstream = admin_gateway.extensions["upstream_oauth"]
        assert await echo_with(upstream.auth_for("remote"), remote.url) == "upstream"
        assert (await api.post("/api/auth/upstream-oauth/remote/refresh")).json()["refreshed"] is True
        r = await api.get("/api/auth/upstream-oauth/callback", params={"code": "x", "state": "unknown"})
        assert r.status_code == 400
        assert (await api.post("/api/auth/upstream-oauth/bad name!/login")).status_code in (400, 404)
        assert (await api.post("/api/auth/upstream-oauth/unknown/login")).status_code == 400
        assert (await api.delete("/api/auth/upstream-oauth/remote")).status_code == 200
        assert (await api.delete("/api/auth/upstream-oauth/remote")).status_code == 404


@pytest.mark.anyio
async def test_client_credentials_needs_no_sign_in(tmp_path: Path, remote: Remote) -> None:
    remote.idp.clients["mt-machine"] = {"client_id": "mt-machine", "client_secret": "machine-secret"}
    manager = oauth_manager(
        tmp_path,
        remote,
        servers={
            "remote": {
                "grant_type": "client_credentials",
                "client_id": "mt-machine",
                "client_secret": "machine-secret",
                "authorization_server": remote.idp.issuer,
            }
        },
    )
    assert await echo_with(manager.auth_for("remote"), remote.url) == "upstream"
    last = remote.idp.token_requests[-1]
    assert last["grant_type"] == "client_credentials" and last["resource"] == remote.url
    assert manager.status("remote")["signed_in"]
    broken = oauth_manager(
        tmp_path / "b",
        remote,
        servers={"remote": {"grant_type": "client_credentials", "client_id": "mt-machine"}},
    )
    with pytest.raises(ValueError, match="needs client_secret or a private key"):
        broken.auth_for("remote")
