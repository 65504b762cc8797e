"""External MCP server definitions, in the shape MCP users already write.

Claude Desktop / Claude Code `mcpServers` entries work as they are:

    {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": {...}, "cwd": "..."}
    {"type": "http" | "sse" | "ws", "url": "https://...", "headers": {...}}

MagicTunnel adds optional per-server keys: `enabled`/`disabled`, `timeout` (per call, seconds),
`protocol` (auto | legacy), `naming` (overrides external_mcp.naming),
`startup_timeout`, `allow`/`deny`/`hidden` (tool-name globs), `hide_all`, `prefix`,
`health_interval`, `restart` and `max_message_bytes`.

Servers come from the file named by `external_mcp.config_file` (resolved relative to the
main config file's directory; a pasted Claude Desktop config with a top-level `mcpServers`
works, and so does `servers:`) and from inline `external_mcp.servers`. `${VAR}` and
`${VAR:-default}` are substituted. Every problem names the file, the server and the field.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from magictunnel.config.errors import ConfigError, _describe_expected, _short
from magictunnel.config.loader import read_yaml_mapping, substitute_env

log = logging.getLogger("magictunnel.upstream.config")

SERVER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$"
# keys other MCP clients write into mcpServers entries; accepted and ignored
FOREIGN_KEYS = {
    "autoApprove",
    "alwaysAllow",
    "description",
    "transportType",
    "transport",
    "note",
    "notes",
    "icon",
    "oauth",
    "trust",
    "includeTools",
    "excludeTools",
}
TYPE_ALIASES = {
    "stdio": "stdio",
    "http": "http",
    "streamable-http": "http",
    "streamable_http": "http",
    "streamableHttp": "http",
    "sse": "sse",
    "ws": "ws",
    "websocket": "ws",
}
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class ServerSpec(BaseModel):
    """One external MCP server."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=SERVER_NAME_PATTERN)
    type: Literal["stdio", "http", "sse", "ws"] = "stdio"
    # stdio
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    # http / sse / ws
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    # MagicTunnel's own
    enabled: bool = True
    timeout: float | None = Field(default=None, gt=0, description="per-call timeout, seconds")
    startup_timeout: float = Field(default=30.0, gt=0)
    allow: list[str] = Field(default_factory=list, description="tool-name globs to keep (empty: all)")
    deny: list[str] = Field(default_factory=list, description="tool-name globs to drop")
    hidden: list[str] = Field(default_factory=list, description="tool-name globs to hide from tools/list")
    hide_all: bool = False
    prefix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    naming: Literal["prefix", "local_first", "reject", "passthrough"] | None = None
    # "auto": the newest era the server speaks (server/discover, else initialize); "legacy": initialize only
    protocol: Literal["auto", "legacy"] = "auto"
    health_interval: float = Field(default=30.0, ge=0)
    restart: bool = True
    max_restarts: int = Field(default=10, ge=0)
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1024)

    @model_validator(mode="after")
    def _check_transport(self) -> ServerSpec:
        if self.type == "stdio":
            if not self.command:
                raise ValueError("command: required for a stdio server (or set type and url)")
        elif not self.url:
            raise ValueError(f"url: required for a {self.type} server")
        elif self.type == "ws" and not self.url.startswith(("ws://", "wss://")):
            raise ValueError("url: a ws server needs a ws:// or wss:// URL")
        elif self.type in ("http", "sse") and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url: a {self.type} server needs an http:// or https:// URL")
        return self

    @property
    def tool_prefix(self) -> str:
        stem = self.prefix or self.name
        return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in stem)

    def to_entry(self) -> dict[str, Any]:
        """The mcpServers-shaped mapping (what gets persisted), defaults left out."""
        data = self.model_dump(exclude_defaults=True, exclude={"name"})
        if self.type != "stdio":
            data["type"] = self.type
        return data

    def describe(self) -> str:
        if self.type == "stdio":
            return " ".join([self.command or "", *self.args]).strip()
        return f"{self.type} {self.url}"


def normalize_entry(name: str, raw: Any, source: str) -> tuple[dict[str, Any], list[str]]:
    """Map an mcpServers entry onto ServerSpec fields; returns (data, warnings)."""
    where = f"{source}: server {name}"
    if not isinstance(raw, dict):
        raise ConfigError([f"{where}: expected a mapping, got {type(raw).__name__}"])
    data = dict(raw)
    warnings: list[str] = []
    if "disabled" in data:
        disabled = data.pop("disabled")
        if not isinstance(disabled, bool):
            raise ConfigError([f"{where}: disabled: expected true or false, got {disabled!r}"])
        data.setdefault("enabled", not disabled)
    kind = data.get("type")
    if kind is None:
        kind = data.get("transportType") or data.get("transport")
        if isinstance(kind, dict):  # some clients nest {transport: {type: ...}}
            kind = kind.get("type")
    if kind is None:
        kind = "stdio" if "command" in data or "url" not in data else "http"
    if not isinstance(kind, str) or kind not in TYPE_ALIASES:
        raise ConfigError([f"{where}: type: expected one of stdio, http, sse, ws, got {kind!r}"])
    data["type"] = TYPE_ALIASES[kind]
    if (
        data["type"] == "http"
        and isinstance(data.get("url"), str)
        and data["url"].endswith("/sse")
        and "type" not in raw
    ):
        data["type"] = "sse"
    for key in list(data):
        if key in FOREIGN_KEYS:
            data.pop(key)
    if isinstance(data.get("args"), list):
        data["args"] = [
            str(a) if isinstance(a, int | float) and not isinstance(a, bool) else a for a in data["args"]
        ]
    if isinstance(data.get("env"), dict):
        data["env"] = {
            str(k): (str(v) if isinstance(v, int | float | bool) else v) for k, v in data["env"].items()
        }
    data["name"] = name
    return data, warnings


def parse_server(name: str, raw: Any, source: str) -> ServerSpec:
    data, _ = normalize_entry(name, raw, source)
    try:
        return ServerSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()))
            if err.get("type") == "value_error":
                msg = str(err.get("msg", "")).removeprefix("Value error, ")
                problems.append(f"{source}: server {name}: {loc + ': ' if loc else ''}{msg}")
            elif err.get("type") == "extra_forbidden":
                problems.append(f"{source}: server {name}: {loc}: unknown key")
            else:
                got = err.get("input")
                problems.append(
                    f"{source}: server {name}: {loc or '<entry>'}: {_describe_expected(err)}, "
                    f"got {_short(got)}"
                )
        raise ConfigError(problems) from None


def servers_mapping(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Find the servers in a loaded file: `mcpServers`, `servers`, or `external_mcp.servers`."""
    for key in ("mcpServers", "servers", "mcp_servers"):
        if key in data:
            value = data[key]
            if value is None:
                return {}
            if not isinstance(value, dict):
                raise ConfigError([f"{source}: {key}: expected a mapping of server name to settings"])
            return value
    ext = data.get("external_mcp")
    if isinstance(ext, dict) and isinstance(ext.get("servers"), dict):
        return ext["servers"]
    if not data:
        return {}
    raise ConfigError([f"{source}: <root>: expected a top-level `mcpServers:` (or `servers:`) mapping"])


@dataclass
class ServersConfig:
    servers: dict[str, ServerSpec] = field(default_factory=dict)
    # where each server was defined: a file path or "inline"
    origins: dict[str, str] = field(default_factory=dict)
    file: Path | None = None
    file_key: str = "mcpServers"


def resolve_config_file(config_file: str | None, base_dir: Path) -> Path | None:
    if not config_file:
        return None
    path = Path(config_file).expanduser()
    return path if path.is_absolute() else (base_dir / path)


def load_servers(config_file: str | None, inline: dict[str, dict[str, Any]], base_dir: Path) -> ServersConfig:
    """Load every server; raises ConfigError listing all problems found."""
    problems: list[str] = []
    result = ServersConfig(file=resolve_config_file(config_file, base_dir))
    entries: list[tuple[str, Any, str]] = []
    if result.file is not None and result.file.is_file():
        source = str(result.file)
        try:
            data = read_yaml_mapping(result.file)
            for key in ("mcpServers", "servers", "mcp_servers"):
                if key in data:
                    result.file_key = key
                    break
            mapping = servers_mapping(data, source)
            entries.extend(
                (name, substitute_env(raw, source, f"{result.file_key}.{name}"), source)
                for name, raw in mapping.items()
            )
        except ConfigError as exc:
            problems.extend(exc.problems)
    for name, raw in (inline or {}).items():
        entries.append(
            (name, substitute_env(raw, "config", f"external_mcp.servers.{name}"), "external_mcp.servers")
        )
    for name, raw, source in entries:
        if name in result.servers:
            problems.append(f"{source}: server {name}: defined twice (also in {result.origins[name]})")
            continue
        try:
            spec = parse_server(str(name), raw, source)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        result.servers[spec.name] = spec
        result.origins[spec.name] = source
    if problems:
        raise ConfigError(problems)
    return result
