"""`magictunnel auth ...` as a real subprocess against the configured database and vault."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from magictunnel.web.app import create_app
from tests.auth.conftest import make_gateway, serve
from tests.auth.fake_idp import FakeIdP

CLI = [sys.executable, "-m", "magictunnel", "auth"]


def _workdir(tmp_path: Path, db_url: str, **extra: object) -> Path:
    config = {
        "registry": {"paths": [], "hot_reload": False},
        "storage": {"database_url": db_url},
        "external_mcp": {"config_file": None},
        **extra,
    }
    (tmp_path / "magictunnel-config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def _env() -> dict[str, str]:
    return {**os.environ, "MAGICTUNNEL_ADMIN_PASSWORD": "Initial-Passw0rd-for-tests"}


def cli(workdir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=workdir, input=stdin, capture_output=True, text=True, timeout=240, env=_env()
    )


@pytest.mark.timeout(900)
def test_users_commands(tmp_path: Path, db_url: str) -> None:
    wd = _workdir(tmp_path, db_url)
    r = cli(
        wd,
        "users",
        "create",
        "ops",
        "--role",
        "tool-manager",
        "--password-stdin",
        stdin="Ops-Passw0rd-123456\n",
    )
    assert r.returncode == 0, r.stderr
    users = json.loads(cli(wd, "users", "list", "--json").stdout)
    assert [(u["username"], u["roles"], u["must_change_password"]) for u in users] == [
        ("admin", ["system-admin"], True),
        ("ops", ["tool-manager"], True),
    ]
    r = cli(wd, "users", "create", "bad", "--role", "root", "--password-stdin", stdin="Whatever-passw0rd-1\n")
    assert r.returncode == 1 and "unknown role(s) root" in r.stderr and "Traceback" not in r.stderr
    r = cli(wd, "users", "passwd", "ops", "--password-stdin", stdin="short\n")
    assert r.returncode == 1 and "at least 12 characters" in r.stderr
    assert (
        cli(wd, "users", "passwd", "ops", "--password-stdin", stdin="Ops-New-passw0rd-99\n").returncode == 0
    )
    assert cli(wd, "users", "disable", "ops").returncode == 0
    assert json.loads(cli(wd, "users", "list", "--json").stdout)[1]["disabled"] is True
    assert cli(wd, "users", "unlock", "ops").returncode == 0
    r = cli(wd, "users", "delete", "admin")
    assert r.returncode == 1 and "at least one enabled system-admin must remain" in r.stderr
    assert cli(wd, "users", "delete", "ops").returncode == 0
    r = cli(wd, "users", "delete", "ops")
    assert r.returncode == 1 and "no user named 'ops'" in r.stderr


@pytest.mark.timeout(900)
@pytest.mark.anyio
async def test_apikeys_and_vault_commands(tmp_path: Path, sqlite_url: str) -> None:
    wd = _workdir(tmp_path, sqlite_url, auth={"enabled": True})
    r = cli(
        wd, "apikeys", "create", "build bot", "--client-id", "ci", "--role", "ops", "--expires-in-days", "30"
    )
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert key.startswith("mt_") and "not shown again" in r.stderr
    listed = json.loads(cli(wd, "apikeys", "list", "--json").stdout)
    assert (
        listed[0]["client_id"] == "ci" and listed[0]["status"] == "active" and key not in json.dumps(listed)
    )
    r = cli(wd, "vault", "set", "weather/api_key", "--value-stdin", stdin="wx-123-secret\n")
    assert r.returncode == 0
    listing = cli(wd, "vault", "list").stdout
    assert "weather/api_key" in listing and "wx-123-secret" not in listing

    gateway = make_gateway(tmp_path, sqlite_url, auth={"enabled": True})
    gateway.config.storage.data_dir = str(tmp_path / "data")
    async with serve(create_app(gateway)) as base, httpx.AsyncClient() as http:
        assert gateway.extensions["vault"].get_secret("weather/api_key") == "wx-123-secret"
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        accept = {"Accept": "application/json, text/event-stream"}
        r = await http.post(f"{base}/mcp", json=ping, headers={**accept, "Authorization": f"Bearer {key}"})
        assert r.status_code != 401
        assert (await http.post(f"{base}/mcp", json=ping, headers=accept)).status_code == 401
        assert cli(wd, "apikeys", "revoke", listed[0]["id"]).returncode == 0
        r = await http.post(f"{base}/mcp", json=ping, headers={**accept, "Authorization": f"Bearer {key}"})
        assert r.status_code == 401
    assert cli(wd, "apikeys", "revoke", "nope").returncode == 1
    assert cli(wd, "vault", "delete", "weather/api_key").returncode == 0
    assert cli(wd, "vault", "delete", "weather/api_key").returncode == 1


async def _run_cli(wd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *CLI, *args, cwd=wd, env=_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def _read_until(stream: asyncio.StreamReader, pattern: str) -> re.Match[str]:
    text = ""
    while True:
        line = await asyncio.wait_for(stream.readline(), 240)
        if not line:
            raise AssertionError(f"CLI ended before {pattern!r}:\n{text}")
        text += line.decode()
        match = re.search(pattern, text)
        if match:
            return match


@pytest.mark.timeout(900)
@pytest.mark.anyio
async def test_upstream_login_code_and_device(tmp_path: Path, sqlite_url: str, idp: FakeIdP) -> None:
    remote = make_gateway(
        tmp_path / "remote", sqlite_url, auth={"enabled": True, "oauth": {"issuer": idp.issuer}}
    )
    async with serve(create_app(remote)) as base:
        url = f"{base}/mcp"
        (tmp_path / "client").mkdir()
        wd = _workdir(
            tmp_path / "client",
            f"sqlite:///{tmp_path / 'client.db'}",
            external_mcp={"config_file": None, "servers": {"remote": {"url": url}}},
        )
        proc = await _run_cli(wd, "upstream", "login", "remote", "--no-browser")
        match = await _read_until(proc.stderr, r"(http://127\.0\.0\.1:\d+/authorize\?\S+)")
        async with httpx.AsyncClient(follow_redirects=True) as browser:
            r = await browser.get(match.group(1))  # issuer approves -> CLI's loopback callback
            assert r.status_code == 200 and "Signed in" in r.text
        out, err = await asyncio.wait_for(proc.communicate(), 240)
        assert proc.returncode == 0, err.decode()
        assert "signed in to remote" in out.decode()
        status = json.loads(cli(wd, "upstream", "status").stdout)
        assert status[0]["server"] == "remote" and status[0]["signed_in"]
        assert cli(wd, "upstream", "logout", "remote").returncode == 0

        proc = await _run_cli(wd, "upstream", "login", "remote", "--device")
        match = await _read_until(proc.stderr, r"enter the\s+code\s+(\w+)")
        assert idp.approve_device(match.group(1))
        out, err = await asyncio.wait_for(proc.communicate(), 240)
        assert proc.returncode == 0, err.decode()
        assert json.loads(cli(wd, "upstream", "status").stdout)[0]["signed_in"]
        r = cli(wd, "upstream", "login", "unknown", "--device")
        assert r.returncode == 1 and "no URL known for upstream server 'unknown'" in r.stderr
