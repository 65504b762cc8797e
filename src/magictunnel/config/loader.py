"""Find, read and validate the configuration.

Order: `--config PATH` / `MAGICTUNNEL_CONFIG_PATH`, then `magictunnel-config.yaml`, then
`config.yaml` in the working directory, then built-in defaults. Values may use `${VAR}` or
`${VAR:-default}`. Environment overrides (`MAGICTUNNEL_*`) are applied last and each is
logged as a warning.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from magictunnel.config.errors import ConfigError, format_validation_error
from magictunnel.config.models import MagicTunnelConfig

log = logging.getLogger("magictunnel.config")

CONFIG_FILE_NAMES = ("magictunnel-config.yaml", "config.yaml")
GROUP_KEYS = ("global", "mcp", "discovery")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")

# environment variable -> (key path, converter description)
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "MAGICTUNNEL_RUNTIME_MODE": ("deployment", "runtime_mode"),
    "MAGICTUNNEL_SMART_DISCOVERY": ("smart_discovery", "enabled"),
    "MAGICTUNNEL_HOST": ("server", "host"),
    "MAGICTUNNEL_PORT": ("server", "port"),
    "MAGICTUNNEL_LOG_LEVEL": ("logging", "level"),
}


@dataclass
class LoadedConfig:
    config: MagicTunnelConfig
    path: Path | None
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def source_name(self) -> str:
        return str(self.path) if self.path else "<defaults>"


def _display(path: Path) -> str:
    """The path as the user would write it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def find_config_file(explicit: str | Path | None = None, cwd: Path | None = None) -> Path | None:
    if explicit:
        return Path(explicit)
    env_path = os.environ.get("MAGICTUNNEL_CONFIG_PATH")
    if env_path:
        return Path(env_path)
    base = cwd or Path.cwd()
    for name in CONFIG_FILE_NAMES:
        candidate = base / name
        if candidate.is_file():
            return candidate
    return None


def substitute_env(value: Any, source: str, path: str = "") -> Any:
    """Replace `${VAR}` / `${VAR:-default}` in every string of a loaded YAML tree."""
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in os.environ:
                return os.environ[name]
            if default is not None:
                return default
            raise ConfigError([f"{source}: {path or '<root>'}: environment variable {name} is not set"])

        return _VAR.sub(repl, value)
    if isinstance(value, dict):
        return {k: substitute_env(v, source, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, source, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def flatten_groups(data: dict[str, Any]) -> dict[str, Any]:
    """Accept `global:`/`mcp:`/`discovery:` groupings by lifting their keys to the top."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in GROUP_KEYS and isinstance(value, dict):
            for inner_key, inner_value in value.items():
                out[inner_key] = inner_value
        else:
            out[key] = value
    return out


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError([f"{path}: file not found"]) from exc
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{path}: {where}invalid YAML: {problem}"]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: <root>: expected a mapping of settings, got {type(data).__name__}"])
    return data


def _set_path(data: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def _collect_sources(data: Any, source: str, prefix: str, out: dict[str, str]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            _collect_sources(value, source, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = source


def load_config(
    explicit: str | Path | None = None,
    *,
    cwd: Path | None = None,
    environ: dict[str, str] | None = None,
) -> LoadedConfig:
    """Load, substitute, override and validate. Raises ConfigError with readable problems."""
    env = os.environ if environ is None else environ
    path = find_config_file(explicit, cwd)
    raw: dict[str, Any] = {}
    source = "<defaults>"
    if path is not None:
        source = _display(path)
        raw = flatten_groups(substitute_env(read_yaml_mapping(path), source))
    sources: dict[str, str] = {}
    _collect_sources(raw, source, "", sources)

    warnings: list[str] = []
    for var, keys in ENV_OVERRIDES.items():
        if var in env and env[var] != "":
            value: Any = env[var]
            if var == "MAGICTUNNEL_LOG_LEVEL":
                value = value.lower()
            _set_path(raw, keys, value)
            dotted = ".".join(keys)
            sources[dotted] = f"env {var}"
            warnings.append(f"environment override: {var}={env[var]} sets {dotted}")

    try:
        config = MagicTunnelConfig.model_validate(raw)
    except ValidationError as exc:
        problems = format_validation_error(source, exc)
        for idx, problem in enumerate(problems):
            for var, keys in ENV_OVERRIDES.items():
                if f": {'.'.join(keys)}:" in problem and sources.get(".".join(keys)) == f"env {var}":
                    problems[idx] = problem.replace(source, f"{source} (with {var})", 1)
        raise ConfigError(problems) from None
    for message in warnings:
        log.warning(message)
    return LoadedConfig(config=config, path=path, sources=sources, warnings=warnings)


def effective_with_sources(loaded: LoadedConfig) -> list[tuple[str, Any, str]]:
    """Every leaf of the effective config with where its value came from."""
    rows: list[tuple[str, Any, str]] = []

    def walk(value: Any, prefix: str) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(inner, f"{prefix}.{key}" if prefix else str(key))
            return
        rows.append((prefix, value, loaded.sources.get(prefix, "default")))

    walk(loaded.config.model_dump(mode="json"), "")
    return rows
