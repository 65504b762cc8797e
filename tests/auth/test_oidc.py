"""Administrators signing in with OpenID Connect (authorization code + PKCE) against a local
fake issuer over real HTTP."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from magictunnel.web.app import create_app
from tests.auth.conftest import make_gateway, serve
from tests.auth.fake_idp import FakeIdP


def _gateway(tmp_path: Path, url: str, idp: FakeIdP):
    idp.clients["magictunnel-admin"] = {"client_id": "magictunnel-admin", "client_secret": "s3cret"}
    return make_gateway(
        tmp_path,
        url,
        auth={
            "oidc": [
                {
                    "name": "corp",
                    "issuer": idp.issuer,
                    "client_id": "magictunnel-admin",
                    "client_secret": "s3cret",
                    "role_mapping": {"mt-admins": "system-admin", "mt-viewers": "read-only-viewer"},
                }
            ]
        },
    )


async def _sign_in(base: str, client: httpx.AsyncClient) -> httpx.Response:
    r = await client.get(f"{base}/api/auth/oidc/corp/login")
    assert r.status_code == 302
    authorize = r.headers["location"]
    q = parse_qs(urlparse(authorize).query)
    assert q["code_challenge_method"] == ["S256"] and q["response_type"] == ["code"]
    assert q["redirect_uri"] == [f"{base}/api/auth/oidc/corp/callback"] and "nonce" in q
    r = await client.get(authorize)  # the fake issuer approves and redirects back
    assert r.status_code == 302
    return await client.get(r.headers["location"])


@pytest.mark.anyio
async def test_oidc_sign_in_maps_roles_and_opens_session(tmp_path: Path, db_url: str, idp: FakeIdP) -> None:
    async with serve(create_app(_gateway(tmp_path, db_url, idp))) as base, httpx.AsyncClient() as client:
        providers = (await client.get(f"{base}/api/auth/providers")).json()["providers"]
        assert [p["name"] for p in providers] == ["local", "corp"] and providers[1]["kind"] == "redirect"
        r = await _sign_in(base, client)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard"
        me = await client.get(f"{base}/api/auth/current-user")
        assert me.status_code == 200, me.text
        assert me.json()["username"] == "alice" and me.json()["provider"] == "oidc:corp"
        assert me.json()["roles"] == ["system-admin"]
        assert idp.token_requests[-1]["code_verifier"]  # PKCE verifier sent, checked by the issuer
        # a state MagicTunnel never issued (or one already used) is refused
        used_state = idp.authorize_requests[-1]["state"]
        r = await client.get(f"{base}/api/auth/oidc/corp/callback?code=abc&state={used_state}")
        assert r.status_code == 400 and "state" in r.json()["error"]
        r = await client.get(f"{base}/api/auth/oidc/corp/callback?code=abc&state=never-issued")
        assert r.status_code == 400 and "state" in r.json()["error"]

        # a user whose groups map to no admin role is refused
        idp.user = {"sub": "u-2", "preferred_username": "bob", "groups": ["staff"]}
        async with httpx.AsyncClient() as other:
            r = await _sign_in(base, other)
            assert r.status_code == 403 and "no admin role" in r.json()["error"]
        assert (await client.get(f"{base}/api/auth/oidc/nope/login")).status_code == 404


@pytest.mark.anyio
async def test_oidc_rejects_bad_id_token(tmp_path: Path, sqlite_url: str, idp: FakeIdP) -> None:
    gateway = _gateway(tmp_path, sqlite_url, idp)
    async with serve(create_app(gateway)) as base, httpx.AsyncClient() as client:
        r = await client.get(f"{base}/api/auth/oidc/corp/login")
        authorize = r.headers["location"]
        # the issuer answers with an ID token for another audience
        original = idp._issue

        def wrong_audience(
            client_id: str, scope: str, resource: str | None, nonce: str | None = None
        ) -> dict:
            return original("someone-else", scope, resource, nonce)

        idp._issue = wrong_audience  # type: ignore[method-assign]
        r = await client.get(authorize)
        r = await client.get(r.headers["location"])
        assert r.status_code == 401 and "ID token rejected" in r.json()["error"]
        assert (await client.get(f"{base}/api/auth/current-user")).status_code == 401
