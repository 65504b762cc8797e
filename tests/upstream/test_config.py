from __future__ import annotations

import json
from pathlib import Path

import pytest

from magictunnel.config.errors import ConfigError
from magictunnel.upstream.config import load_servers, parse_server

CLAUDE_DESKTOP = {
    "mcpServers": {
        "filesystem": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
        },
        "github": {
            "command": "docker",
            "args": [
                "run",
                "-i",
                "--rm",
                "-e",
                "GITHUB_PERSONAL_ACCESS_TOKEN",
                "ghcr.io/github/github-mcp-server",
            ],
            "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GH_TOKEN}"},
        },
        "remote": {
            "type": "http",
            "url": "https://example.test/mcp",
            "headers": {"Authorization": "Bearer x"},
        },
        "legacy": {"type": "sse", "url": "http://127.0.0.1:9/sse"},
        "sock": {"type": "ws", "url": "ws://127.0.0.1:9/mcp"},
        "off": {"command": "true", "disabled": True, "autoApprove": ["x"]},
    }
}


def test_pasted_claude_desktop_json_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GH_TOKEN", "s3cret")
    path = tmp_path / "external-mcp-servers.yaml"
    path.write_text(json.dumps(CLAUDE_DESKTOP, indent=2))
    loaded = load_servers("external-mcp-servers.yaml", {}, tmp_path)
    servers = loaded.servers
    assert set(servers) == {"filesystem", "github", "remote", "legacy", "sock", "off"}
    assert servers["filesystem"].type == "stdio"
    assert servers["filesystem"].args[-1] == "/Users/me/Desktop"
    assert servers["github"].env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "s3cret"}
    assert servers["remote"].type == "http" and servers["remote"].headers["Authorization"] == "Bearer x"
    assert servers["legacy"].type == "sse"
    assert servers["sock"].type == "ws"
    assert servers["off"].enabled is False
    assert loaded.origins["github"] == str(path)


def test_inline_servers_merge_with_file(tmp_path: Path) -> None:
    (tmp_path / "servers.yaml").write_text("servers:\n  a: {command: echo}\n")
    loaded = load_servers("servers.yaml", {"b": {"url": "http://127.0.0.1:1/mcp"}}, tmp_path)
    assert loaded.servers["a"].command == "echo"
    assert loaded.servers["b"].type == "http"
    assert loaded.origins["b"] == "external_mcp.servers"


def test_missing_file_is_no_servers(tmp_path: Path) -> None:
    assert load_servers("nope.yaml", {}, tmp_path).servers == {}


def test_errors_name_file_server_and_field(tmp_path: Path) -> None:
    path = tmp_path / "ext.yaml"
    path.write_text(
        "mcpServers:\n"
        "  nocmd: {args: [1]}\n"
        "  badurl: {type: http, url: 'ftp://x'}\n"
        "  badtype: {type: carrier-pigeon, url: 'http://x'}\n"
        "  badtimeout: {command: x, timeout: -1}\n"
        "  typo: {command: x, argz: []}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_servers(str(path), {}, tmp_path)
    problems = "\n".join(info.value.problems)
    assert f"{path}: server nocmd: command: required" in problems
    assert f"{path}: server badurl: url: a http server needs" in problems
    assert f"{path}: server badtype: type: expected one of stdio, http, sse, ws" in problems
    assert f"{path}: server badtimeout: timeout: expected a value gt 0.0, got -1" in problems
    assert f"{path}: server typo: argz: unknown key" in problems


def test_unset_variable_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MT_TEST_UNSET_VAR", raising=False)
    (tmp_path / "ext.yaml").write_text("mcpServers:\n  a: {command: x, env: {T: '${MT_TEST_UNSET_VAR}'}}\n")
    with pytest.raises(ConfigError) as info:
        load_servers("ext.yaml", {}, tmp_path)
    assert "mcpServers.a.env.T: environment variable MT_TEST_UNSET_VAR is not set" in str(info.value)


def test_bad_yaml_and_bad_root(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("mcpServers: [1, 2]\n")
    with pytest.raises(ConfigError, match="mcpServers: expected a mapping"):
        load_servers("a.yaml", {}, tmp_path)
    (tmp_path / "b.yaml").write_text("mcpServers: {a: {command: x}\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_servers("b.yaml", {}, tmp_path)


def test_entry_round_trip() -> None:
    spec = parse_server("x", {"type": "http", "url": "http://h/mcp", "timeout": 5, "allow": ["a*"]}, "test")
    again = parse_server("x", spec.to_entry(), "test")
    assert again == spec
