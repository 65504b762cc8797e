"""`magictunnel servers add|remove|list|refresh|health`: manage external MCP servers.

With a running gateway (the default: `--url`, else the configured host/port) the commands use
its admin REST API (`/api/mcp-servers`; token from `--token` or MAGICTUNNEL_ADMIN_TOKEN), so
changes apply at once, are persisted atomically and rolled back when a server can't start.
With `--offline` they edit the servers file directly (validated; applied at the next start).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from magictunnel.cli.common import ConfigOption, load_or_exit
from magictunnel.config.errors import ConfigError
from magictunnel.config.loader import substitute_env
from magictunnel.upstream.config import load_servers, parse_server, resolve_config_file
from magictunnel.upstream.persist import ServersFile

servers_app = typer.Typer(help="Manage external MCP servers.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

UrlOption = typer.Option(None, "--url", help="gateway base URL (default: from the config)")
TokenOption = typer.Option(None, "--token", help="admin token (default: MAGICTUNNEL_ADMIN_TOKEN)")
OfflineOption = typer.Option(False, "--offline", help="edit the servers file instead of a running gateway")


def register(app: typer.Typer) -> None:
    app.add_typer(servers_app, name="servers")


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


class _Api:
    def __init__(self, config: Path | None, url: str | None, token: str | None) -> None:
        loaded = load_or_exit(config)
        server = loaded.config.server
        host = "127.0.0.1" if server.host in ("0.0.0.0", "::") else server.host
        self.base = (url or f"http://{host}:{server.port}").rstrip("/")
        token = token or os.environ.get("MAGICTUNNEL_ADMIN_TOKEN") or loaded.config.security.admin_token
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: Any = None, timeout: float = 120.0) -> Any:
        try:
            response = httpx.request(
                method, f"{self.base}/api/mcp-servers{path}", json=body, headers=self.headers, timeout=timeout
            )
        except httpx.HTTPError as exc:
            raise _fail(
                f"cannot reach the gateway at {self.base}: {exc} (use --offline to edit the file)"
            ) from None
        if response.status_code == 401:
            raise _fail("the gateway refused the admin token (set MAGICTUNNEL_ADMIN_TOKEN or --token)")
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text}
        if response.status_code >= 400:
            detail = data.get("detail", data) if isinstance(data, dict) else data
            problems = detail.get("problems") if isinstance(detail, dict) else None
            message = detail.get("error") if isinstance(detail, dict) else str(detail)
            raise _fail("\n  ".join([str(message), *(problems or [])]))
        return data


def _offline_file(config: Path | None) -> tuple[ServersFile, Any]:
    loaded = load_or_exit(config)
    base = loaded.path.parent if loaded.path else Path.cwd()
    ext = loaded.config.external_mcp
    path = resolve_config_file(ext.config_file, base) or (base / "external-mcp-servers.yaml")
    return ServersFile(path), (ext, base)


def _entry_from(
    command: list[str] | None,
    url: str | None,
    kind: str | None,
    env: list[str],
    header: list[str],
    json_entry: str | None,
) -> dict[str, Any]:
    if json_entry:
        try:
            entry = json.loads(json_entry)
        except ValueError as exc:
            raise _fail(f"--json: not valid JSON: {exc}") from None
        if not isinstance(entry, dict):
            raise _fail("--json: expected a JSON object (an mcpServers entry)")
        return entry
    entry: dict[str, Any] = {}
    if url:
        entry["url"] = url
        entry["type"] = kind or "http"
    elif command:
        entry["command"], entry["args"] = command[0], command[1:]
    else:
        raise _fail("give a command (after --), --url or --json")
    for pair, key in ((env, "env"), (header, "headers")):
        for item in pair:
            name, sep, value = item.partition("=" if key == "env" else ":")
            if not sep or not name.strip():
                raise _fail(
                    f"--{key[:-1] if key == 'headers' else key}: expected NAME{'=' if key == 'env' else ':'}"
                    f"VALUE, got {item!r}"
                )
            entry.setdefault(key, {})[name.strip()] = value.strip()
    return entry


@servers_app.command("list")
def list_servers(
    config: Path | None = ConfigOption,
    url: str | None = UrlOption,
    token: str | None = TokenOption,
    offline: bool = OfflineOption,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every external server with its state, tools and drift."""
    if offline:
        _, (ext, base) = _offline_file(config)
        try:
            servers = load_servers(ext.config_file, ext.servers, base)
        except ConfigError as exc:
            raise _fail("\n  ".join(exc.problems), 2) from None
        rows = [
            {
                "name": n,
                "state": "configured" if s.enabled else "disabled",
                "target": s.describe(),
                "tools": "-",
                "protocol_version": None,
                "drift": None,
            }
            for n, s in servers.servers.items()
        ]
    else:
        rows = [
            {**s, "tools": len(s.get("served_tools", []))}
            for s in _Api(config, url, token).call("GET", "")["servers"]
        ]
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title="external MCP servers")
    for col in ("name", "state", "target", "tools", "era", "notes"):
        table.add_column(col)
    for row in rows:
        notes = row.get("error") or ("tools changed" if row.get("drift") else "")
        table.add_row(
            row["name"],
            row["state"],
            row["target"],
            str(row["tools"]),
            str(row.get("protocol_version") or ""),
            notes,
        )
    console.print(table)


@servers_app.command("add")
def add(
    name: str,
    command: list[str] | None = typer.Argument(None, help="stdio command and args (after --)"),
    server_url: str | None = typer.Option(None, "--server-url", help="an http/sse/ws server's URL"),
    kind: str | None = typer.Option(None, "--type", help="http (default for URLs), sse or ws"),
    env: list[str] = typer.Option([], "--env", help="NAME=VALUE for a stdio server"),
    header: list[str] = typer.Option([], "--header", help="NAME: VALUE for a remote server"),
    json_entry: str | None = typer.Option(None, "--json", help="a whole mcpServers entry as JSON"),
    config: Path | None = ConfigOption,
    url: str | None = UrlOption,
    token: str | None = TokenOption,
    offline: bool = OfflineOption,
) -> None:
    """Add a server: `servers add memory -- npx -y @modelcontextprotocol/server-memory`."""
    entry = _entry_from(command, server_url, kind, env, header, json_entry)
    try:
        parse_server(name, substitute_env(entry, "command line", name), "command line")
    except ConfigError as exc:
        raise _fail("\n  ".join(exc.problems), 2) from None
    if offline:
        servers_file, _ = _offline_file(config)
        if name in (servers_file._servers(servers_file.read())):
            raise _fail(f"server {name!r} already exists in {servers_file.path}")
        servers_file.upsert(
            parse_server(name, substitute_env(entry, "command line", name), "command line"), entry
        )
        console.print(f"added {name} to {servers_file.path} (applies at the next start)", highlight=False)
        return
    status = _Api(config, url, token).call("POST", "", {"name": name, **entry})
    console.print(
        f"added {name}: {status['state']}, {len(status.get('served_tools', []))} tools", highlight=False
    )


@servers_app.command("remove")
def remove(
    name: str,
    config: Path | None = ConfigOption,
    url: str | None = UrlOption,
    token: str | None = TokenOption,
    offline: bool = OfflineOption,
) -> None:
    """Stop a server, drop its tools and remove it from the servers file."""
    if offline:
        servers_file, _ = _offline_file(config)
        if not servers_file.remove(name):
            raise _fail(f"no server named {name!r} in {servers_file.path}")
        console.print(f"removed {name} from {servers_file.path}", highlight=False)
        return
    _Api(config, url, token).call("DELETE", f"/{name}")
    console.print(f"removed {name}", highlight=False)


@servers_app.command("refresh")
def refresh(
    name: str | None = typer.Argument(None, help="one server (default: all)"),
    config: Path | None = ConfigOption,
    url: str | None = UrlOption,
    token: str | None = TokenOption,
) -> None:
    """Re-list capabilities (and retry servers that failed)."""
    api = _Api(config, url, token)
    if name:
        status = api.call("POST", f"/{name}/refresh")
        console.print(
            f"{name}: {status['state']}, {len(status.get('served_tools', []))} tools", highlight=False
        )
        return
    for server, outcome in api.call("POST", "/bulk/refresh")["servers"].items():
        console.print(
            f"{server}: {outcome.get('state', 'error')} {outcome.get('error') or ''}".rstrip(),
            highlight=False,
        )


@servers_app.command("health")
def health(
    config: Path | None = ConfigOption, url: str | None = UrlOption, token: str | None = TokenOption
) -> None:
    """Ping every server now."""
    data = _Api(config, url, token).call("GET", "/health")
    for server, check in data["servers"].items():
        state = f"ok ({check['latency_ms']} ms)" if check["healthy"] else f"unhealthy: {check.get('error')}"
        console.print(f"{server}: {state}", highlight=False)
    if not data["healthy"]:
        raise typer.Exit(1)
