"""`magictunnel security ...` as a real subprocess against SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
import yaml
from tests.security.conftest import text_of

from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext


def cli(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MAGICTUNNEL_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "magictunnel", "security", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def workdir(tmp_path: Path, db_url: str) -> Path:
    config = {
        "deployment": {"runtime_mode": "advanced"},
        "registry": {"paths": []},
        "external_mcp": {"config_file": None},
        "storage": {"database_url": db_url, "data_dir": str(tmp_path / "data")},
    }
    (tmp_path / "magictunnel-config.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_rbac_audit_and_test_commands(workdir: Path) -> None:
    assert cli(workdir, "rbac", "roles", "add", "reader", "--perm", "tool:*_read").returncode == 0
    r = cli(
        workdir,
        "rbac",
        "roles",
        "add",
        "dev",
        "--inherits",
        "reader",
        "--perm",
        "tool:fs_*",
        "--perm",
        "!tool:fs_rm",
    )
    assert r.returncode == 0, r.stderr
    roles = json.loads(cli(workdir, "rbac", "roles", "list", "--json").stdout)
    assert {r["name"]: r["effective_roles"] for r in roles} == {
        "dev": ["dev", "reader"],
        "reader": ["reader"],
    }
    assert cli(workdir, "rbac", "clients", "add", "agent-1", "--role", "dev").returncode == 0
    shown = json.loads(cli(workdir, "rbac", "clients", "show", "agent-1").stdout)
    assert shown["effective_roles"] == ["dev", "reader"]
    assert cli(workdir, "rbac", "check", "agent-1", "db_read").returncode == 0
    denied = cli(workdir, "rbac", "check", "agent-1", "fs_rm")
    assert denied.returncode == 3 and "role:dev deny tool:fs_rm" in denied.stdout
    assert cli(workdir, "rbac", "templates", "add", "ro", "--role", "reader").returncode == 0
    assert "now has roles reader" in cli(workdir, "rbac", "templates", "apply", "ro", "bot-2").stdout

    r = cli(workdir, "test", "fs_rm", "--client", "agent-1", "--args", '{"path": "/"}', "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 3 and out["denied_by"]["stage"] == "rbac"

    recent = json.loads(cli(workdir, "audit", "recent", "--json").stdout)
    assert {e["action"] for e in recent} >= {"rbac.role.create", "rbac.client.create", "rbac.template.apply"}
    assert all(e["client_id"].startswith("cli") for e in recent)
    found = json.loads(cli(workdir, "audit", "search", "agent-1", "--json").stdout)
    assert found and all("agent-1" in json.dumps(e) for e in found)
    assert json.loads(cli(workdir, "audit", "violations", "--json").stdout) == []
    assert cli(workdir, "audit", "export", "-o", str(workdir / "a.csv"), "--format", "csv").returncode == 0
    assert (workdir / "a.csv").read_text().startswith("id,ts,time,event_type")
    status = json.loads(cli(workdir, "status", "--json").stdout)
    assert status["healthy"] is True and status["services"]["rbac"]["statistics"]["roles"] == 2


def test_bad_input_exits_with_a_message(workdir: Path) -> None:
    r = cli(workdir, "rbac", "roles", "add", "x", "--perm", "nocolon")
    assert r.returncode == 1 and "permissions[0]" in r.stderr and "Traceback" not in r.stderr
    r = cli(workdir, "rbac", "roles", "remove", "ghost")
    assert r.returncode == 1 and "not found" in r.stderr
    r = cli(workdir, "test", "echo", "--args", "{nope")
    assert r.returncode == 2 and "--args: not valid JSON" in r.stderr
    r = cli(workdir, "audit", "export", "-o", str(workdir / "x"), "--format", "xml")
    assert r.returncode == 1 and "format" in r.stderr


@pytest.mark.anyio
async def test_cli_lockdown_reaches_a_running_gateway(workdir: Path, gateway: Gateway) -> None:
    r = await anyio.to_thread.run_sync(lambda: cli(workdir, "lockdown", "on", "--reason", "cli drill"))
    assert r.returncode == 0 and "ACTIVE" in r.stdout, r.stderr
    for _ in range(100):
        if gateway.extensions["security"].lockdown.active:
            break
        await asyncio.sleep(0.05)
    result = await gateway.call_tool("echo", {}, CallContext())
    assert result.is_error and "cli drill" in text_of(result)
    status = await anyio.to_thread.run_sync(lambda: cli(workdir, "lockdown", "status", "--json"))
    assert json.loads(status.stdout)["active"] is True
    r = await anyio.to_thread.run_sync(lambda: cli(workdir, "lockdown", "off"))
    assert r.returncode == 0 and "lockdown off" in r.stdout
    for _ in range(100):
        if not gateway.extensions["security"].lockdown.active:
            break
        await asyncio.sleep(0.05)
    assert not (await gateway.call_tool("echo", {}, CallContext())).is_error
