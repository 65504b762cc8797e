"""Runtime management of external servers over REST and the CLI, against a real gateway process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
import pytest
import yaml
from mcp import Client

from tests.support.gateway import MAGICTUNNEL, run_gateway
from tests.upstream.conftest import EVERYTHING, pid_alive

pytestmark = pytest.mark.timeout(180)
TOKEN = "test-admin-token-upstream"


def config(tmp_path: Path) -> dict:
    return {
        "registry": {"paths": [], "hot_reload": False},
        "storage": {"data_dir": str(tmp_path / "data")},
        "security": {"admin_token": TOKEN},
        "external_mcp": {"config_file": "./external-mcp-servers.yaml", "startup_wait": 20},
    }


def test_rest_add_call_update_remove_with_persistence_and_rollback(tmp_path: Path) -> None:
    servers_file = tmp_path / "external-mcp-servers.yaml"
    servers_file.write_text(
        yaml.safe_dump({"mcpServers": {"first": {"command": sys.executable, "args": [EVERYTHING]}}})
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with run_gateway(tmp_path, config(tmp_path), timeout=60) as gw:
        api = f"{gw.base_url}/api/mcp-servers"
        assert httpx.get(api, timeout=10).status_code == 401  # admin only
        listing = httpx.get(api, headers=auth, timeout=10).json()
        assert [s["name"] for s in listing["servers"]] == ["first"] and listing["servers"][0][
            "state"
        ] == "ready"

        # add: connected and persisted
        body = {"name": "second", "command": sys.executable, "args": [EVERYTHING]}
        added = httpx.post(api, json=body, headers=auth, timeout=60)
        assert added.status_code == 201, added.text
        assert "second_add" in added.json()["served_tools"]
        assert "second" in yaml.safe_load(servers_file.read_text())["mcpServers"]

        # a server that cannot start is rolled back: not listed, not persisted; the answer comes
        # when its first attempt fails, not after its startup timeout (120 s, past this request's)
        before = servers_file.read_text()
        broken = {"name": "broken", "command": "/nonexistent/server", "startup_timeout": 120}
        bad = httpx.post(api, json=broken, headers=auth, timeout=60)
        assert bad.status_code == 422 and "broken" in bad.text and "No such file" in bad.text
        assert servers_file.read_text() == before
        assert "broken" not in [s["name"] for s in httpx.get(api, headers=auth, timeout=10).json()["servers"]]

        # invalid configuration: 400 naming the field
        invalid = httpx.post(
            api, json={"name": "x", "type": "http", "url": "ftp://nope"}, headers=auth, timeout=10
        )
        assert invalid.status_code == 400 and "url" in invalid.text

        # the added server's tools work over MCP
        async def call() -> str:
            async with Client(gw.mcp_url) as client:
                result = await client.call_tool("second_add", {"a": 20, "b": 22})
                return result.content[0].text

        assert anyio.run(call) == "42"

        # update with a broken config: the old one is restored
        upd = httpx.put(
            f"{api}/second/config", json={"command": "/nonexistent/server"}, headers=auth, timeout=60
        )
        assert upd.status_code == 422 and "restored" in upd.text
        assert httpx.get(f"{api}/second", headers=auth, timeout=10).json()["state"] == "ready"

        health = httpx.get(f"{api}/health", headers=auth, timeout=30).json()
        assert health["healthy"] and set(health["servers"]) == {"first", "second"}
        assert httpx.post(f"{api}/second/refresh", headers=auth, timeout=30).json()["state"] == "ready"
        bulk = httpx.post(f"{api}/bulk/refresh", headers=auth, timeout=30).json()["servers"]
        assert bulk["first"]["ok"] and bulk["second"]["ok"]

        pid = httpx.get(f"{api}/second", headers=auth, timeout=10).json()["pid"]
        assert pid and pid_alive(pid)
        assert httpx.delete(f"{api}/second", headers=auth, timeout=30).json() == {"removed": "second"}
        assert not pid_alive(pid)
        assert "second" not in yaml.safe_load(servers_file.read_text())["mcpServers"]
        assert httpx.delete(f"{api}/second", headers=auth, timeout=10).status_code == 404

        # the CLI talks to the same API
        cli_env = {**os.environ, "MAGICTUNNEL_ADMIN_TOKEN": TOKEN}

        def run(command: str, *args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*MAGICTUNNEL, "servers", command, "--url", gw.base_url, *args],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env=cli_env,
                timeout=90,
            )

        out = run("add", "third", "--", sys.executable, EVERYTHING)
        assert out.returncode == 0 and "added third" in out.stdout, out.stderr
        out = run("list", "--json")
        assert out.returncode == 0 and '"third"' in out.stdout
        out = run("refresh", "third")
        assert out.returncode == 0 and "third: ready" in out.stdout
        out = run("remove", "third")
        assert out.returncode == 0 and "removed third" in out.stdout
        out = run("add", "bad", "--", "/nonexistent/server")
        assert out.returncode == 1 and "bad" in out.stderr
    assert not pid_alive(pid)


def test_cli_offline_edits_the_servers_file(tmp_path: Path) -> None:
    (tmp_path / "magictunnel-config.yaml").write_text(yaml.safe_dump(config(tmp_path)))
    cmd = [*MAGICTUNNEL, "servers"]
    out = subprocess.run(
        [*cmd, "add", "mem", "--offline", "--env", "A=1", "--", "npx", "-y", "server-memory"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    data = yaml.safe_load((tmp_path / "external-mcp-servers.yaml").read_text())
    assert data["mcpServers"]["mem"] == {"command": "npx", "args": ["-y", "server-memory"], "env": {"A": "1"}}
    out = subprocess.run(
        [*cmd, "list", "--offline", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and '"mem"' in out.stdout
    out = subprocess.run(
        [*cmd, "add", "x", "--offline", "--server-url", "ftp://no"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "url" in out.stderr
    out = subprocess.run(
        [*cmd, "remove", "mem", "--offline"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    assert yaml.safe_load((tmp_path / "external-mcp-servers.yaml").read_text())["mcpServers"] == {}
