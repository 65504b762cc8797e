"""First start creates `admin` (password from env, or generated and printed once); advanced
mode refuses to listen unauthenticated beyond loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from magictunnel.auth.exposure import check_exposure, is_loopback
from magictunnel.auth.settings import AuthSettings
from magictunnel.config.errors import ConfigError
from magictunnel.core.services import ServiceStartError
from tests.auth.conftest import make_gateway


@pytest.mark.anyio
async def test_generated_password_printed_once(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MAGICTUNNEL_ADMIN_PASSWORD")
    gateway = make_gateway(tmp_path, sqlite_url)
    await gateway.start()
    feature = gateway.extensions["auth"]
    password = feature.generated_password
    await gateway.stop()
    assert password and len(password) >= 16
    err = capsys.readouterr().err
    assert err.count(password) == 1 and "change it at first login" in err
    user = await feature.store.get_user("admin")
    assert user.must_change_password and user.roles == ["system-admin"]
    assert password not in user.password_hash and user.password_hash.startswith("$argon2id$")
    # second start: no new password, nothing printed
    again = make_gateway(tmp_path, sqlite_url)
    await again.start()
    assert again.extensions["auth"].generated_password is None
    await again.stop()
    assert password not in capsys.readouterr().err


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def _settings(tmp_path: Path, sqlite_url: str, **kw: object) -> tuple:
    gw = make_gateway(tmp_path, sqlite_url, **kw)
    return gw.config, AuthSettings.from_config(gw.config)


def test_exposure_rules(tmp_path: Path, sqlite_url: str) -> None:
    advanced = {"deployment": {"runtime_mode": "advanced"}}
    config, settings = _settings(
        tmp_path, sqlite_url, server={"host": "0.0.0.0"}, auth={"enabled": False}, **advanced
    )
    with pytest.raises(ConfigError, match=r"advanced mode on 0\.0\.0\.0 without MCP client authentication"):
        check_exposure(config, settings)
    # advanced mode requires client auth by default, so the same host is fine without the opt-out
    config, settings = _settings(tmp_path, sqlite_url, server={"host": "0.0.0.0"}, **advanced)
    assert settings.client_auth_required(config.runtime_mode)
    check_exposure(config, settings)
    # explicit opt-out on loopback is allowed (local development)
    config, settings = _settings(tmp_path, sqlite_url, auth={"enabled": False}, **advanced)
    check_exposure(config, settings)
    assert not settings.client_auth_required(config.runtime_mode)
    # proxy mode on loopback: no client auth needed
    config, settings = _settings(tmp_path, sqlite_url)
    assert not settings.client_auth_required(config.runtime_mode)
    config, settings = _settings(tmp_path, sqlite_url, auth={"enabled": True, "api_keys_enabled": False})
    with pytest.raises(ConfigError, match="no method is available"):
        check_exposure(config, settings)


@pytest.mark.anyio
async def test_gateway_start_refuses_unauthenticated_advanced_on_public_host(
    tmp_path: Path, sqlite_url: str
) -> None:
    gateway = make_gateway(
        tmp_path,
        sqlite_url,
        server={"host": "0.0.0.0"},
        auth={"enabled": False},
        deployment={"runtime_mode": "advanced"},
    )
    with pytest.raises(ServiceStartError, match=r"service auth failed to start.*refused"):
        await gateway.start()


def test_serve_command_refuses_with_clear_message(tmp_path: Path, sqlite_url: str) -> None:
    config = {
        "deployment": {"runtime_mode": "advanced"},
        "server": {"host": "0.0.0.0"},
        "auth": {"enabled": False},
        "registry": {"paths": []},
        "storage": {"database_url": sqlite_url},
        "external_mcp": {"config_file": None},
    }
    (tmp_path / "magictunnel-config.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.run(
        [sys.executable, "-m", "magictunnel", "serve", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MAGICTUNNEL_ADMIN_PASSWORD": "Whatever-passw0rd-1"},
    )
    assert proc.returncode != 0
    out = " ".join((proc.stderr + proc.stdout).split())
    # the serve command checks `client_auth.required` before binding; the auth service says the same
    assert "advanced mode on 0.0.0.0 without" in out and "authentication" in out
    assert "Traceback" not in proc.stderr


def test_bad_auth_config_names_the_key(tmp_path: Path, sqlite_url: str) -> None:
    with pytest.raises(ConfigError, match=r"auth\.login\.max_attempts"):
        _settings(tmp_path, sqlite_url, auth={"login": {"max_attempts": "many"}})
