"""`magictunnel security rbac ...`: roles, clients and access templates of MCP client RBAC."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import typer

# defined before the helpers are imported, so either module may be imported first
rbac_app = typer.Typer(help="Roles, clients and templates of MCP client RBAC.", no_args_is_help=True)
roles_app = typer.Typer(help="RBAC roles.", no_args_is_help=True)
clients_app = typer.Typer(help="RBAC clients (API key client ids, token subjects).", no_args_is_help=True)
templates_app = typer.Typer(help="Client access templates.", no_args_is_help=True)
rbac_app.add_typer(roles_app, name="roles")
rbac_app.add_typer(clients_app, name="clients")
rbac_app.add_typer(templates_app, name="templates")

from magictunnel.cli.common import ConfigOption  # noqa: E402
from magictunnel.cli.security_cmd import (  # noqa: E402
    JsonOption,
    _print_json,
    _run,
    _table,
    actor,
    console,
)


# ---- rbac --------------------------------------------------------------------------------
def _audited(suite: Any, action: str, target: str, details: Any = None) -> Awaitable[None]:
    return suite.audit_change(actor(), action, target, details)


def _perm_text(perms: list[dict[str, str]]) -> list[str]:
    return [("!" if p["effect"] == "deny" else "") + f"{p['type']}:{p['pattern']}" for p in perms]


@roles_app.command("list")
def roles_list(config: Path | None = ConfigOption, as_json: bool = JsonOption) -> None:
    """Roles with what they inherit and grant."""

    async def action(suite: Any) -> Any:
        return [
            {**r, "effective_roles": list(suite.rbac.expand([r["name"]]))} for r in suite.rbac.roles.values()
        ]

    rows = _run(config, action)
    if as_json:
        _print_json(rows)
        return
    _table(
        "roles",
        ("name", "inherits", "permissions", "description"),
        [(r["name"], r["inherits"], _perm_text(r["permissions"]), r["description"]) for r in rows],
    )


@roles_app.command("add")
def roles_add(
    name: str,
    inherits: list[str] = typer.Option([], "--inherits", help="parent role (repeatable)"),
    perms: list[str] = typer.Option([], "--perm", help="e.g. tool:fs_* or !server:prod (repeatable)"),
    description: str = typer.Option("", "--description"),
    config: Path | None = ConfigOption,
) -> None:
    """Create a role."""

    async def action(suite: Any) -> Any:
        row = await suite.rbac.create_role(
            {"name": name, "inherits": inherits, "permissions": perms, "description": description}
        )
        await _audited(suite, "rbac.role.create", f"role {name}", row)
        return row

    _run(config, action)
    console.print(f"role {name} created", highlight=False)


@roles_app.command("remove")
def roles_remove(name: str, config: Path | None = ConfigOption) -> None:
    """Delete a role (refused while a role, client or template uses it)."""

    async def action(suite: Any) -> Any:
        await suite.rbac.delete_role(name)
        await _audited(suite, "rbac.role.delete", f"role {name}")

    _run(config, action)
    console.print(f"role {name} deleted", highlight=False)


@clients_app.command("list")
def clients_list(config: Path | None = ConfigOption, as_json: bool = JsonOption) -> None:
    """Clients known to RBAC."""

    async def action(suite: Any) -> Any:
        return list(suite.rbac.clients.values())

    rows = _run(config, action)
    if as_json:
        _print_json(rows)
        return
    _table(
        "clients",
        ("id", "kind", "roles", "permissions", "enabled", "template"),
        [
            (c["id"], c["kind"], c["roles"], _perm_text(c["permissions"]), c["enabled"], c["template"] or "")
            for c in rows
        ],
    )


@clients_app.command("add")
def clients_add(
    client_id: str,
    roles: list[str] = typer.Option([], "--role", help="role (repeatable)"),
    perms: list[str] = typer.Option([], "--perm", help="direct permission (repeatable)"),
    kind: str = typer.Option("agent", "--kind", help="agent or application"),
    config: Path | None = ConfigOption,
) -> None:
    """Register a client with roles and direct permissions."""

    async def action(suite: Any) -> Any:
        row = await suite.rbac.create_client(
            {"id": client_id, "roles": roles, "permissions": perms, "kind": kind}
        )
        await _audited(suite, "rbac.client.create", f"client {client_id}", row)

    _run(config, action)
    console.print(f"client {client_id} registered", highlight=False)


@clients_app.command("remove")
def clients_remove(client_id: str, config: Path | None = ConfigOption) -> None:
    """Remove a client."""

    async def action(suite: Any) -> Any:
        await suite.rbac.delete_client(client_id)
        await _audited(suite, "rbac.client.delete", f"client {client_id}")

    _run(config, action)
    console.print(f"client {client_id} removed", highlight=False)


@clients_app.command("show")
def clients_show(client_id: str, config: Path | None = ConfigOption) -> None:
    """A client's effective roles and permissions (and where each comes from)."""

    async def action(suite: Any) -> Any:
        return suite.rbac.client_permissions(client_id)

    _print_json(_run(config, action))


@templates_app.command("list")
def templates_list(config: Path | None = ConfigOption, as_json: bool = JsonOption) -> None:
    """Client access templates."""

    async def action(suite: Any) -> Any:
        return list(suite.rbac.templates.values())

    rows = _run(config, action)
    if as_json:
        _print_json(rows)
        return
    _table(
        "templates",
        ("name", "roles", "permissions", "description"),
        [(t["name"], t["roles"], _perm_text(t["permissions"]), t["description"]) for t in rows],
    )


@templates_app.command("add")
def templates_add(
    name: str,
    roles: list[str] = typer.Option([], "--role"),
    perms: list[str] = typer.Option([], "--perm"),
    config: Path | None = ConfigOption,
) -> None:
    """Create a template."""

    async def action(suite: Any) -> Any:
        row = await suite.rbac.create_template({"name": name, "roles": roles, "permissions": perms})
        await _audited(suite, "rbac.template.create", f"template {name}", row)

    _run(config, action)
    console.print(f"template {name} created", highlight=False)


@templates_app.command("apply")
def templates_apply(name: str, client_id: str, config: Path | None = ConfigOption) -> None:
    """Give a client (created if new) the template's roles and permissions."""

    async def action(suite: Any) -> Any:
        row = await suite.rbac.apply_template(client_id, name)
        await _audited(suite, "rbac.template.apply", f"template {name} -> client {client_id}")
        return row

    row = _run(config, action)
    console.print(f"client {client_id} now has roles {', '.join(row['roles']) or 'none'}", highlight=False)


@rbac_app.command("check")
def rbac_check(
    client_id: str,
    tool: str,
    roles: list[str] = typer.Option([], "--role"),
    server: str | None = typer.Option(None, "--server"),
    config: Path | None = ConfigOption,
) -> None:
    """May this client call this tool? Exit 3 when not."""
    from magictunnel.pipeline.context import Identity

    async def action(suite: Any) -> Any:
        return suite.rbac.check(
            Identity(client_id=client_id, roles=tuple(roles)), "tool", tool, server
        ).to_dict()

    out = _run(config, action)
    console.print(
        ("[green]allowed[/green]" if out["allowed"] else "[red]denied[/red]") + f": {out['reason']}",
        highlight=False,
    )
    if not out["allowed"]:
        raise typer.Exit(3)
