"""SEP-990 enterprise-managed authorization (`grant_type: identity_assertion`) against a real
protected MCP server and a real IdP/authorization server over loopback HTTP (tests/auth/fake_idp.py
plays both: the token exchange as the enterprise IdP, the jwt-bearer grant as the MCP server's AS)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from magictunnel.auth.settings import AuthSettings
from magictunnel.auth.upstream.grants import GrantError
from magictunnel.auth.upstream.identity_assertion import read_id_token
from magictunnel.auth.upstream.manager import UpstreamOAuth
from magictunnel.config.errors import ConfigError
from magictunnel.config.models import MagicTunnelConfig
from tests.auth.conftest import Remote
from tests.auth.fake_idp import ID_JAG_TYPE, ID_TOKEN_TYPE, JWT_BEARER, TOKEN_EXCHANGE
from tests.auth.upstream_remote import echo_with, oauth_manager


def _server(remote: Remote, id_token_file: Path, **extra: Any) -> dict[str, Any]:
    return {
        "grant_type": "identity_assertion",
        "client_id": "mt-at-as",
        "client_secret": "as-secret",
        "authorization_server": remote.idp.issuer,
        "identity_provider": {
            "token_endpoint": f"{remote.idp.issuer}/token",
            "client_id": "mt-at-idp",
            "id_token_file": str(id_token_file),
        },
        **extra,
    }


def _setup(tmp_path: Path, remote: Remote, ttl: int = 300, **extra: Any) -> tuple[UpstreamOAuth, Path]:
    remote.idp.clients["mt-at-as"] = {"client_id": "mt-at-as", "client_secret": "as-secret"}
    remote.idp.jag_client_ids["mt-at-idp"] = "mt-at-as"
    id_token = tmp_path / "id-token.jwt"
    id_token.write_text(remote.idp.id_token("mt-at-idp", ttl=ttl) + "\n")
    return oauth_manager(tmp_path, remote, servers={"remote": _server(remote, id_token, **extra)}), id_token


@pytest.mark.anyio
async def test_id_token_is_exchanged_then_redeemed_without_a_sign_in(tmp_path: Path, remote: Remote) -> None:
    manager, _ = _setup(tmp_path, remote, scopes=["mcp:tools"])
    assert await echo_with(manager.auth_for("remote"), remote.url) == "upstream"
    exchange, bearer = remote.idp.token_requests[-2:]
    assert exchange["grant_type"] == TOKEN_EXCHANGE
    assert exchange["subject_token_type"] == ID_TOKEN_TYPE and exchange["requested_token_type"] == ID_JAG_TYPE
    assert exchange["audience"] == remote.idp.issuer and exchange["resource"] == remote.url
    assert exchange["client_id"] == "mt-at-idp" and exchange["scope"] == "mcp:tools"
    assert bearer["grant_type"] == JWT_BEARER and bearer["resource"] == remote.url
    grant = jwt.decode(bearer["assertion"], options={"verify_signature": False})
    assert grant["aud"] == remote.idp.issuer and grant["client_id"] == "mt-at-as"
    status = manager.status("remote")
    assert status["signed_in"]
    first = manager.storage("remote").record()["tokens"]["access_token"]

    # no refresh token with this grant: renewal runs both legs again (the background refresher's path)
    assert await manager.refresh("remote")
    assert [r["grant_type"] for r in remote.idp.token_requests[-2:]] == [TOKEN_EXCHANGE, JWT_BEARER]
    assert await manager.get_token("remote") not in (None, first)


@pytest.mark.anyio
async def test_expired_or_refused_id_token_says_why(
    tmp_path: Path, remote: Remote, caplog: pytest.LogCaptureFixture
) -> None:
    manager, id_token = _setup(tmp_path, remote, ttl=-60)
    before = len(remote.idp.token_requests)
    with caplog.at_level(logging.WARNING, "magictunnel.auth.upstream_oauth"):
        assert not await manager.refresh("remote")
    assert "expired at" in caplog.text and "renew it" in caplog.text
    assert len(remote.idp.token_requests) == before  # an expired token never leaves the gateway

    # a valid token the IdP was not issued for: its refusal is passed on, the token is not logged
    id_token.write_text(remote.idp.id_token("someone-else"))
    caplog.clear()
    with caplog.at_level(logging.WARNING, "magictunnel.auth.upstream_oauth"):
        assert not await manager.refresh("remote")
    assert (
        "token exchange at the identity provider" in caplog.text and "refused: invalid_grant" in caplog.text
    )
    assert id_token.read_text() not in caplog.text

    id_token.unlink()
    with pytest.raises(GrantError, match=r"identity_provider\.id_token_file: cannot read the ID token"):
        read_id_token("remote", manager.server_settings("remote").identity_provider, lambda: None)  # type: ignore[arg-type]


def test_incomplete_settings_name_the_key(tmp_path: Path) -> None:
    def load(server: dict[str, Any]) -> AuthSettings:
        config = MagicTunnelConfig.model_validate({"auth": {"upstream_oauth": {"servers": {"s": server}}}})
        return AuthSettings.from_config(config, "config.yaml")

    with pytest.raises(ConfigError, match=r"auth\.upstream_oauth\.servers\.s.*needs client_secret, "):
        load({"grant_type": "identity_assertion", "client_id": "c"})
    idp = {"token_endpoint": "https://idp.example/token", "client_id": "c"}
    full = {
        "grant_type": "identity_assertion",
        "client_id": "c",
        "client_secret": "s",
        "authorization_server": "https://as.example",
    }
    with pytest.raises(ConfigError, match="exactly one of id_token_file and id_token_secret"):
        load({**full, "identity_provider": idp})
    with pytest.raises(ConfigError, match="only read with grant_type: identity_assertion"):
        load({"identity_provider": {**idp, "id_token_file": "t"}})
    with pytest.raises(ValidationError):
        AuthSettings.model_validate(
            {"upstream_oauth": {"servers": {"s": {**full, "token_endpoint_auth_method": "none"}}}}
        )
    assert load({**full, "identity_provider": {**idp, "id_token_secret": "idp/alice"}})
