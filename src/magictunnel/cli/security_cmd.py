"""`magictunnel security status|test|lockdown|rbac|audit ...`, straight against the configured database.

A running gateway on the same database picks up changes within `security.poll_interval`.
Whoever can run these commands can read the configuration and the database: an operator.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from magictunnel.cli.common import ConfigOption, err_console, load_or_exit

security_app = typer.Typer(help="Security services: status, lockdown, RBAC, audit.", no_args_is_help=True)
lockdown_app = typer.Typer(help="Emergency lockdown: block every tool execution.", no_args_is_help=True)
security_app.add_typer(lockdown_app, name="lockdown")
console = Console()
JsonOption = typer.Option(False, "--json", help="print JSON")


def register(app: typer.Typer) -> None:
    app.add_typer(security_app, name="security")


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:
        return "cli"


def _run(config: Path | None, action: Callable[[Any], Awaitable[Any]]) -> Any:
    """Open storage + the security services (no gateway, no background tasks) and run `action(suite)`."""
    from magictunnel.security.common import InvalidInput
    from magictunnel.security.suite import SecuritySuite
    from magictunnel.storage import Storage, StorageError
    from magictunnel.storage.repositories import Duplicate, NotFound

    loaded = load_or_exit(config)
    base = loaded.path.parent if loaded.path else Path.cwd()
    if loaded.config.runtime_mode.value != "advanced":
        err_console.print(
            "note: the security pipeline runs in runtime mode 'advanced'; this configuration "
            f"uses '{loaded.config.runtime_mode.value}'",
            highlight=False,
        )

    async def go() -> Any:
        storage = Storage.from_config(loaded.config, base)
        suite = SecuritySuite(storage, loaded.config.security)
        try:
            await suite.load()
            return await action(suite)
        finally:
            if suite.loaded:
                await suite.close()
            await storage.close()

    try:
        return asyncio.run(go())
    except (InvalidInput, NotFound, Duplicate, StorageError) as exc:
        err_console.print(f"[red]error:[/red] {str(exc).strip(chr(39))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def _json_arg(value: str | None, name: str) -> Any:
    if value is None:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {name}: not valid JSON ({exc})", highlight=False)
        raise typer.Exit(2) from None
    if not isinstance(parsed, dict):
        err_console.print(f"[red]error:[/red] {name}: must be a JSON object", highlight=False)
        raise typer.Exit(2)
    return parsed


# ---- status and test ---------------------------------------------------------------------
@security_app.command("status")
def status(config: Path | None = ConfigOption, as_json: bool = JsonOption) -> None:
    """Health and statistics of every security service."""

    async def action(suite: Any) -> Any:
        return await suite.status()

    out = _run(config, action)
    if as_json:
        _print_json(out)
        return
    lock = out["lockdown"]
    console.print(f"database: {out['storage']['database']}  healthy: {out['healthy']}", highlight=False)
    console.print(
        "lockdown: "
        + (
            f"[red]ACTIVE[/red] since {lock.get('since_iso')} by {lock.get('by')}"
            if lock["active"]
            else "off"
        )
    )
    table = Table(title="security services")
    for col in ("service", "healthy", "statistics"):
        table.add_column(col)
    for name, info in out["services"].items():
        stats = {k: v for k, v in info["statistics"].items() if not isinstance(v, dict | list)}
        table.add_row(
            name, str(info["health"].get("healthy")), ", ".join(f"{k}={v}" for k, v in stats.items())
        )
    console.print(table)


@security_app.command("test")
def test(
    tool: str = typer.Argument(..., help="tool name"),
    arguments: str | None = typer.Option(None, "--args", help="arguments as a JSON object"),
    client: str = typer.Option("anonymous", "--client", help="client id"),
    roles: list[str] = typer.Option([], "--role", help="a role the credential carries (repeatable)"),
    server: str | None = typer.Option(None, "--server", help="upstream server of the tool"),
    source_ip: str | None = typer.Option(None, "--source-ip"),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """What every pipeline stage would decide for a call (nothing is executed)."""
    from magictunnel.pipeline.context import Identity

    args = _json_arg(arguments, "--args")

    async def action(suite: Any) -> Any:
        probe = suite.probe_tool(tool, server)
        return await suite.explain(
            Identity(client_id=client, roles=tuple(roles)), probe, args, "mcp", source_ip
        )

    out = _run(config, action)
    if as_json:
        _print_json(out)
    else:
        table = Table(title=f"{tool} for client {client} (roles: {', '.join(out['roles']) or 'none'})")
        for col in ("stage", "verdict", "rule", "reason"):
            table.add_column(col)
        for s in out["stages"]:
            table.add_row(
                s["stage"], "allow" if s["allowed"] else "[red]deny[/red]", str(s["rule"] or ""), s["reason"]
            )
        console.print(table)
        console.print(
            "[green]allowed[/green]"
            if out["allowed"]
            else f"[red]denied[/red] by {out['denied_by']['stage']} (rule {out['denied_by']['rule']})"
        )
    if not out["allowed"]:
        raise typer.Exit(3)


# ---- lockdown ----------------------------------------------------------------------------
def _lockdown(active: bool | None, reason: str, config: Path | None, as_json: bool) -> None:
    async def action(suite: Any) -> Any:
        if active is None:
            return suite.lockdown.status()
        return await suite.lockdown.set(active, actor(), reason)

    out = _run(config, action)
    if as_json:
        _print_json(out)
    elif out["active"]:
        console.print(
            f"[red]lockdown ACTIVE[/red] since {out.get('since_iso')} by {out.get('by')}"
            + (f": {out['reason']}" if out.get("reason") else ""),
            highlight=False,
        )
    else:
        console.print(
            "lockdown off"
            + (f" (last change {out.get('since_iso')} by {out.get('by')})" if out.get("by") else ""),
            highlight=False,
        )


@lockdown_app.command("on")
def lockdown_on(
    reason: str = typer.Option("", "--reason", "-r"),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Block every tool execution (running gateways follow within security.poll_interval)."""
    _lockdown(True, reason, config, as_json)


@lockdown_app.command("off")
def lockdown_off(
    reason: str = typer.Option("", "--reason", "-r"),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Allow tool execution again."""
    _lockdown(False, reason, config, as_json)


@lockdown_app.command("status")
def lockdown_status(config: Path | None = ConfigOption, as_json: bool = JsonOption) -> None:
    """Is the lockdown on?"""
    _lockdown(None, "", config, as_json)


# ---- shared by the rbac and audit commands ------------------------------------------
def _table(title: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*[", ".join(map(str, v)) if isinstance(v, list | tuple) else str(v) for v in row])
    console.print(table)


# ---- audit -------------------------------------------------------------------------------


# registered last: the rbac and audit commands use the helpers above
from magictunnel.cli.security_audit_cmd import audit_app  # noqa: E402
from magictunnel.cli.security_rbac_cmd import rbac_app  # noqa: E402

security_app.add_typer(rbac_app, name="rbac")
security_app.add_typer(audit_app, name="audit")
