"""Configuration: file discovery, overrides, ${VAR} substitution, readable errors, precedence."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.config import ConfigError, RuntimeMode, load_config
from magictunnel.config.loader import effective_with_sources, find_config_file
from magictunnel.config.models import MagicTunnelConfig
from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import ToolCall


@pytest.fixture(autouse=True)
def no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "MAGICTUNNEL_CONFIG_PATH",
        "MAGICTUNNEL_RUNTIME_MODE",
        "MAGICTUNNEL_SMART_DISCOVERY",
        "MAGICTUNNEL_HOST",
        "MAGICTUNNEL_PORT",
        "MAGICTUNNEL_LOG_LEVEL",
    ):
        monkeypatch.delenv(var, raising=False)


def problems_of(path: Path | None = None, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)
    return info.value.problems


# ---- which file ---------------------------------------------------------------------------------
def test_discovery_order(tmp_path: Path) -> None:
    assert load_config(cwd=tmp_path, environ={}).path is None
    defaults = load_config(cwd=tmp_path, environ={})
    assert defaults.source_name == "<defaults>" and defaults.config.server.port == 3001
    assert defaults.config.server.host == "127.0.0.1" and defaults.config.runtime_mode is RuntimeMode.PROXY
    (tmp_path / "config.yaml").write_text("server: {port: 4002}\n")
    assert load_config(cwd=tmp_path, environ={}).config.server.port == 4002
    (tmp_path / "magictunnel-config.yaml").write_text("server: {port: 4001}\n")
    loaded = load_config(cwd=tmp_path, environ={})
    assert loaded.path == tmp_path / "magictunnel-config.yaml" and loaded.config.server.port == 4001


def test_explicit_path_and_env_var_override_discovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "magictunnel-config.yaml").write_text("server: {port: 4001}\n")
    (tmp_path / "from-env.yaml").write_text("server: {port: 4003}\n")
    (tmp_path / "explicit.yaml").write_text("server: {port: 4004}\n")
    monkeypatch.setenv("MAGICTUNNEL_CONFIG_PATH", str(tmp_path / "from-env.yaml"))
    assert load_config(cwd=tmp_path, environ={}).config.server.port == 4003
    assert load_config(tmp_path / "explicit.yaml", cwd=tmp_path, environ={}).config.server.port == 4004
    assert find_config_file(tmp_path / "explicit.yaml") == tmp_path / "explicit.yaml"


def test_missing_explicit_file(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.yaml", environ={}) == [f"{tmp_path / 'nope.yaml'}: file not found"]


# ---- layout and substitution --------------------------------------------------------------------
def test_magictunnel_hierarchical_layout(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        """
global:
  deployment: {runtime_mode: advanced}
  server: {host: 0.0.0.0, port: 8080, websocket: false, timeout: 12}
  registry: {paths: [./caps, "./more/*.yaml"], hot_reload: false}
  logging: {level: debug}
mcp:
  external_mcp: {enabled: false, config_file: ./servers.yaml}
  sampling: {enabled: false}
discovery:
  smart_discovery: {enabled: false, default_confidence_threshold: 0.5, custom_key: kept}
  visibility: {expose: discovery_only}
tools:
  slow_tool: {timeout: 120, hidden: true}
"""
    )
    config = load_config(path, environ={}).config
    assert config.runtime_mode is RuntimeMode.ADVANCED
    assert (config.server.host, config.server.port, config.server.websocket, config.server.timeout) == (
        "0.0.0.0",
        8080,
        False,
        12.0,
    )
    assert config.registry.paths == ["./caps", "./more/*.yaml"] and config.registry.hot_reload is False
    assert config.logging.level == "debug"
    assert config.external_mcp.enabled is False and config.external_mcp.config_file == "./servers.yaml"
    assert config.sampling.enabled is False
    assert (
        config.smart_discovery.enabled is False and config.smart_discovery.default_confidence_threshold == 0.5
    )
    assert config.smart_discovery.model_extra == {"custom_key": "kept"}  # open sections keep their own keys
    assert config.visibility.expose == "discovery_only"
    assert config.tools["slow_tool"].timeout == 120 and config.tools["slow_tool"].hidden is True


def test_env_var_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MT_TEST_PORT", "5005")
    monkeypatch.setenv("MT_TEST_HOST", "10.0.0.1")
    monkeypatch.delenv("MT_TEST_UNSET", raising=False)
    path = tmp_path / "c.yaml"
    path.write_text(
        "server: {host: '${MT_TEST_HOST}', port: '${MT_TEST_PORT}'}\n"
        "registry: {paths: ['${MT_TEST_UNSET:-./default-caps}', 'x-${MT_TEST_PORT}']}\n"
    )
    config = load_config(path, environ={}).config
    assert config.server.host == "10.0.0.1" and config.server.port == 5005
    assert config.registry.paths == ["./default-caps", "x-5005"]
    path.write_text("registry: {paths: [ok, '${MT_TEST_UNSET}']}\n")
    assert problems_of(path, environ={}) == [
        f"{path}: registry.paths[1]: environment variable MT_TEST_UNSET is not set"
    ]


# ---- environment overrides ----------------------------------------------------------------------
def test_env_overrides_apply_and_are_logged_as_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("server: {host: 127.0.0.1, port: 3001}\ndeployment: {runtime_mode: proxy}\n")
    env = {
        "MAGICTUNNEL_RUNTIME_MODE": "advanced",
        "MAGICTUNNEL_SMART_DISCOVERY": "false",
        "MAGICTUNNEL_HOST": "0.0.0.0",
        "MAGICTUNNEL_PORT": "9999",
        "MAGICTUNNEL_LOG_LEVEL": "DEBUG",
    }
    with caplog.at_level(logging.WARNING, "magictunnel.config"):
        loaded = load_config(path, environ=env)
    config = loaded.config
    assert config.runtime_mode is RuntimeMode.ADVANCED and config.smart_discovery.enabled is False
    assert (config.server.host, config.server.port, config.logging.level) == ("0.0.0.0", 9999, "debug")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 5
    for var in env:
        assert any(var in r.getMessage() for r in warnings), var
    assert "environment override: MAGICTUNNEL_PORT=9999 sets server.port" in caplog.text
    assert loaded.sources["server.port"] == "env MAGICTUNNEL_PORT"
    assert loaded.sources["server.host"] == "env MAGICTUNNEL_HOST"


def test_empty_env_override_is_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "magictunnel.config"):
        loaded = load_config(cwd=tmp_path, environ={"MAGICTUNNEL_PORT": ""})
    assert loaded.config.server.port == 3001 and caplog.records == []


def test_invalid_env_override_names_the_variable(tmp_path: Path) -> None:
    assert problems_of(cwd=tmp_path, environ={"MAGICTUNNEL_RUNTIME_MODE": "turbo"}) == [
        "<defaults> (with MAGICTUNNEL_RUNTIME_MODE): deployment.runtime_mode: expected one of 'proxy' or "
        "'advanced', got \"turbo\""
    ]
    (tmp_path / "magictunnel-config.yaml").write_text("server: {port: 3001}\n")
    (problem,) = problems_of(cwd=tmp_path, environ={"MAGICTUNNEL_PORT": "http"})
    assert problem.endswith(
        'magictunnel-config.yaml (with MAGICTUNNEL_PORT): server.port: expected an integer 1-65535, got "http"'
    )


def test_effective_config_shows_the_source_of_each_value(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("server: {port: 4444}\n")
    rows = {
        key: (value, source)
        for key, value, source in effective_with_sources(
            load_config(path, environ={"MAGICTUNNEL_HOST": "0.0.0.0"})
        )
    }
    assert rows["server.port"] == (4444, str(path))
    assert rows["server.host"] == ("0.0.0.0", "env MAGICTUNNEL_HOST")
    assert rows["server.timeout"] == (30.0, "default")


# ---- invalid configuration: file, key path, expectation -------------------------------------------
@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ('server:\n  port: "abc"\n', 'server.port: expected an integer 1-65535, got "abc"'),
        ("server: {port: 70000}\n", "server.port: expected an integer 1-65535, got 70000"),
        ("server: {port: 0}\n", "server.port: expected an integer 1-65535, got 0"),
        ("global: {server: {timeout: -1}}\n", "server.timeout: expected a number > 0, got -1"),
        (
            "server: {max_request_body_bytes: 10}\n",
            "server.max_request_body_bytes: expected an integer >= 1024, got 10",
        ),
        (
            "discovery: {smart_discovery: {default_confidence_threshold: 1.5}}\n",
            "smart_discovery.default_confidence_threshold: expected a number 0-1, got 1.5",
        ),
        ("tools: {t: {timeout: 0}}\n", "tools.t.timeout: expected a number > 0, got 0"),
        (
            "deployment: {runtime_mode: turbo}\n",
            "deployment.runtime_mode: expected one of 'proxy' or 'advanced', got \"turbo\"",
        ),
        ("registry: {hot_reload: maybe}\n", 'registry.hot_reload: expected true or false, got "maybe"'),
        ("registry: {paths: 3}\n", "registry.paths: expected a list, got 3"),
        ("registry: {conflict_strategy: coinflip}\n", "registry.conflict_strategy: expected one of"),
        ("server: {host: [a]}\n", "server.host: expected a string, got a list"),
        ("server: {bogus: 1}\n", "server.bogus: unknown key"),
        ("server: 5\n", "server: expected a mapping, got 5"),
    ],
)
def test_invalid_values_name_file_key_and_expectation(tmp_path: Path, yaml_text: str, expected: str) -> None:
    path = tmp_path / "magictunnel-config.yaml"
    path.write_text(yaml_text)
    problems = problems_of(path, environ={})
    assert any(p.startswith(f"{path}: {expected}") for p in problems), problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("server: {port: abc, timeout: 0}\nregistry: {hot_reload: maybe}\n")
    assert len(problems_of(path, environ={})) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [("server: [\n", "line 2, column 1: invalid YAML"), ("- a\n", "<root>: expected a mapping of settings")],
)
def test_unreadable_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    (problem,) = problems_of(path, environ={})
    assert problem.startswith(f"{path}: {expected}")


def test_cli_reports_invalid_config_with_exit_2_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "magictunnel-config.yaml").write_text('server:\n  port: "abc"\n')
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("MAGICTUNNEL_")}
    result = subprocess.run(
        [sys.executable, "-c", "from magictunnel.cli.main import main; main()", "config", "validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "COLUMNS": "300"},
    )
    assert result.returncode == 2
    assert 'magictunnel-config.yaml: server.port: expected an integer 1-65535, got "abc"' in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# ---- precedence: tool > server > global > defaults ----------------------------------------------
def test_timeout_precedence() -> None:
    config = MagicTunnelConfig.model_validate({"server": {"timeout": 45}, "tools": {"t": {"timeout": 5}}})
    assert config.tool_timeout("t", server_timeout=20) == 5  # the tool override wins
    assert config.tool_timeout("other", server_timeout=20) == 20  # then the server's (routing) timeout
    assert config.tool_timeout("other") == 45  # then the global server.timeout
    assert MagicTunnelConfig().tool_timeout("x") == 30.0  # then the default


def test_gateway_timeout_uses_the_same_precedence(tmp_path: Path) -> None:
    from magictunnel.config.loader import LoadedConfig

    config = MagicTunnelConfig.model_validate(
        {
            "server": {"timeout": 45},
            "tools": {"pinned": {"timeout": 2}},
            "registry": {"paths": [str(tmp_path)]},
        }
    )
    gateway = Gateway(LoadedConfig(config=config, path=None), base_dir=tmp_path)

    def call(name: str, routing_timeout: float | None) -> ToolCall:
        cfg = {"command": "true"} | ({"timeout": routing_timeout} if routing_timeout else {})
        return ToolCall(tool=ToolDef(name=name, routing=Routing(type="subprocess", config=cfg)), arguments={})

    assert gateway._timeout_for(call("pinned", 60)) == 2
    assert gateway._timeout_for(call("plain", 60)) == 60
    assert gateway._timeout_for(call("plain", None)) == 45
