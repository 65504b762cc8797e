"""The vault: encrypted at rest, key from env or a 0600 key file, names listed, values redacted."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from magictunnel.auth.vault import REDACTED, Vault, VaultError, redact
from magictunnel.web.app import create_app
from tests.auth.conftest import make_gateway, serve


def test_key_file_created_0600_and_values_encrypted(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path)
    key_file = tmp_path / "vault.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    vault.set("github_token", "ghp_supersecretvalue", "GitHub")
    raw = (tmp_path / "vault.json").read_text()
    assert "ghp_supersecretvalue" not in raw
    assert stat.S_IMODE((tmp_path / "vault.json").stat().st_mode) == 0o600
    reopened = Vault.open(tmp_path)
    assert reopened.get_secret("github_token") == "ghp_supersecretvalue"
    assert reopened.get_secret("missing") is None
    listing = reopened.list()
    assert listing[0]["name"] == "github_token" and listing[0]["value"] == REDACTED
    assert "ghp_" not in repr(reopened) and "ghp_" not in str(listing)
    assert reopened.delete("github_token") and reopened.get("github_token") is None


def test_key_from_environment_and_wrong_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("MAGICTUNNEL_VAULT_KEY", key)
    Vault.open(tmp_path).set("a", "b")
    assert not (tmp_path / "vault.key").exists()
    monkeypatch.setenv("MAGICTUNNEL_VAULT_KEY", Fernet.generate_key().decode())
    with pytest.raises(VaultError, match="does not match"):
        Vault.open(tmp_path)
    monkeypatch.setenv("MAGICTUNNEL_VAULT_KEY", "not-a-key")
    with pytest.raises(VaultError, match="MAGICTUNNEL_VAULT_KEY: not a valid vault key"):
        Vault.open(tmp_path)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    Vault.open(tmp_path)
    (tmp_path / "vault.key").chmod(0o644)
    with pytest.raises(VaultError, match="chmod 600"):
        Vault.open(tmp_path)


def test_redact_structures() -> None:
    data = {"api_key": "abc", "nested": {"password": "p", "user": "u"}, "items": [{"token": "t"}], "n": None}
    assert redact(data) == {
        "api_key": REDACTED,
        "nested": {"password": REDACTED, "user": "u"},
        "items": [{"token": REDACTED}],
        "n": None,
    }


@pytest.mark.anyio
async def test_vault_api_never_returns_values_and_logs_nothing(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = make_gateway(tmp_path, sqlite_url, security={"admin_token": "tok-0123456789abcdef"})
    assert gateway.extensions["vault"].get_secret is not None
    h = {"Authorization": "Bearer tok-0123456789abcdef"}
    async with serve(create_app(gateway)) as base, httpx.AsyncClient(base_url=base, headers=h) as client:
        r = await client.put("/api/vault/secrets/weather/api_key", json={"value": "wx-secret-998877"})
        assert r.status_code == 200 and r.json()["value"] == REDACTED
        listing = (await client.get("/api/vault/secrets")).json()["secrets"]
        assert [s["name"] for s in listing] == ["weather/api_key"]
        assert "wx-secret-998877" not in str(listing)
        assert gateway.extensions["vault"].get_secret("weather/api_key") == "wx-secret-998877"
        assert (await client.put("/api/vault/secrets/__system__/x", json={"value": "v"})).status_code == 400
        assert (await client.put("/api/vault/secrets/ok", json={})).status_code == 400
        assert (await client.delete("/api/vault/secrets/weather/api_key")).status_code == 200
        assert (await client.delete("/api/vault/secrets/weather/api_key")).status_code == 404
    assert "wx-secret-998877" not in caplog.text
