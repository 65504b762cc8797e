"""The MCP Inspector CLI (a second, independent client implementation) over stdio and HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gateway import basic_workdir, run_gateway
from tests.support.node_tools import node22_env, tool_bin


def _inspector(args: list[str], cwd: Path) -> dict:
    cmd = [str(tool_bin("inspector", "mcp-inspector")), "--cli", *args]
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=node22_env({"MCP_CATALOG_PATH": str(cwd / "inspector-catalog.json")}),
    )
    assert proc.returncode == 0, f"inspector failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return basic_workdir(tmp_path)


def test_inspector_stdio(workdir: Path) -> None:
    target = [sys.executable, "-m", "magictunnel", "stdio"]
    listed = _inspector([*target, "--method", "tools/list"], workdir)
    assert "echo" in [t["name"] for t in listed["tools"]]
    called = _inspector(
        [*target, "--method", "tools/call", "--tool-name", "echo", "--tool-arg", "message=inspected"], workdir
    )
    assert called["content"][0]["text"].strip() == "inspected"
    prompt = _inspector(
        [*target, "--method", "prompts/get", "--prompt-name", "greet", "--prompt-args", "who=Bo"], workdir
    )
    assert prompt["messages"][0]["content"]["text"] == "Say hello to Bo"


def test_inspector_http(workdir: Path) -> None:
    with run_gateway(workdir) as gw:
        listed = _inspector([gw.mcp_url, "--transport", "http", "--method", "tools/list"], workdir)
        assert "echo" in [t["name"] for t in listed["tools"]]
        called = _inspector(
            [
                gw.mcp_url,
                "--transport",
                "http",
                "--method",
                "tools/call",
                "--tool-name",
                "echo",
                "--tool-arg",
                "message=over http",
            ],
            workdir,
        )
        assert called["content"][0]["text"].strip() == "over http"
        read = _inspector(
            [gw.mcp_url, "--transport", "http", "--method", "resources/read", "--uri", "note://readme"],
            workdir,
        )
        assert read["contents"][0]["text"] == "hello resource"
