"""`magictunnel auth users|apikeys|upstream|vault ...`: administrators, MCP client API keys,
upstream OAuth sign-ins and vault secrets, straight against the configured database/vault."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
import webbrowser
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import httpx2
import typer
from rich.console import Console
from rich.table import Table

from magictunnel.cli.common import ConfigOption, err_console, load_or_exit

auth_app = typer.Typer(help="Administrators, API keys, upstream OAuth and the vault.", no_args_is_help=True)
users_app = typer.Typer(help="Administrator accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for MCP clients.", no_args_is_help=True)
upstream_app = typer.Typer(help="OAuth sign-in to remote MCP servers.", no_args_is_help=True)
vault_app = typer.Typer(help="Secrets in the vault (values are never printed).", no_args_is_help=True)
auth_app.add_typer(users_app, name="users")
auth_app.add_typer(keys_app, name="apikeys")
auth_app.add_typer(upstream_app, name="upstream")
auth_app.add_typer(vault_app, name="vault")
console = Console()
ACTOR = "cli"


def register(app: typer.Typer) -> None:
    app.add_typer(auth_app, name="auth")


def _run(config: Path | None, action: Callable[[Any], Awaitable[Any]]) -> Any:
    """Open the auth feature's core (database + vault) and run `action(feature)`."""
    from magictunnel.auth.admin_service import AuthError
    from magictunnel.auth.apikeys import ApiKeyError
    from magictunnel.auth.upstream.discovery import DiscoveryError
    from magictunnel.auth.upstream.grants import GrantError
    from magictunnel.auth.vault import VaultError
    from magictunnel.config.errors import ConfigError
    from magictunnel.core.gateway import Gateway
    from magictunnel.storage.engine import StorageError

    loaded = load_or_exit(config)

    async def go() -> Any:
        gateway = Gateway(loaded)
        feature = gateway.extensions["auth"]
        try:
            await feature.open_core()
            return await action(feature)
        finally:
            await gateway.extensions["storage"].close()

    try:
        return asyncio.run(go())
    except (AuthError, ApiKeyError) as exc:
        err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
    except (ConfigError, VaultError, StorageError, GrantError, DiscoveryError, ValueError) as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
    except (httpx.HTTPError, httpx2.HTTPError) as exc:
        err_console.print(f"[red]error:[/red] HTTP {type(exc).__name__}: {exc}", highlight=False)
    except Exception as exc:
        if type(exc).__name__ != "UpstreamLoginRequired":
            raise
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(1)


def _new_password(prompt: str, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("again: ") != first:
        err_console.print("[red]error:[/red] the passwords differ")
        raise typer.Exit(1)
    return first


# ---- users ---------------------------------------------------------------------------------
@users_app.command("list")
def users_list(config: Path | None = ConfigOption, as_json: bool = typer.Option(False, "--json")) -> None:
    """List administrators."""
    from magictunnel.auth.admin_service import public_user

    users = _run(config, lambda f: f.store.list_users())
    rows = [public_user(u) for u in users]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="administrators")
    for col in ("username", "roles", "provider", "state"):
        table.add_column(col)
    for u in rows:
        state = (
            "disabled"
            if u["disabled"]
            else "locked"
            if u["locked"]
            else "must change password"
            if u["must_change_password"]
            else "active"
        )
        table.add_row(u["username"], ", ".join(u["roles"]), u["provider"], state)
    console.print(table)


@users_app.command("create")
def users_create(
    username: str,
    role: list[str] = typer.Option(..., "--role", "-r", help="repeatable"),
    password_stdin: bool = typer.Option(False, "--password-stdin"),
    config: Path | None = ConfigOption,
) -> None:
    """Create an administrator (the password must be changed at first login)."""
    password = _new_password(f"password for {username}: ", password_stdin)
    _run(config, lambda f: f.admin.create_user(username, password, role, ACTOR))
    console.print(f"created {username} ({', '.join(role)})", highlight=False)


@users_app.command("passwd")
def users_passwd(
    username: str,
    password_stdin: bool = typer.Option(False, "--password-stdin"),
    config: Path | None = ConfigOption,
) -> None:
    """Set a user's password (they must change it at next login) and end their sessions."""
    password = _new_password(f"new password for {username}: ", password_stdin)
    _run(config, lambda f: f.admin.change_password(username, None, password, ACTOR))
    console.print(f"password of {username} set; sessions revoked", highlight=False)


def _update(username: str, config: Path | None, **kwargs: Any) -> None:
    _run(config, lambda f: f.admin.update_user(username, ACTOR, **kwargs))


@users_app.command("disable")
def users_disable(username: str, config: Path | None = ConfigOption) -> None:
    """Disable an administrator and end their sessions."""
    _update(username, config, disabled=True)
    console.print(f"{username} disabled", highlight=False)


@users_app.command("enable")
def users_enable(username: str, config: Path | None = ConfigOption) -> None:
    _update(username, config, disabled=False)
    console.print(f"{username} enabled", highlight=False)


@users_app.command("unlock")
def users_unlock(username: str, config: Path | None = ConfigOption) -> None:
    """Clear a lock-out after failed logins."""
    _update(username, config, unlock=True)
    console.print(f"{username} unlocked", highlight=False)


@users_app.command("delete")
def users_delete(username: str, config: Path | None = ConfigOption) -> None:
    _run(config, lambda f: f.admin.delete_user(username, ACTOR))
    console.print(f"{username} deleted", highlight=False)


# ---- API keys ------------------------------------------------------------------------------
@keys_app.command("create")
def keys_create(
    name: str,
    client_id: str | None = typer.Option(None, "--client-id"),
    role: list[str] = typer.Option([], "--role", "-r", help="RBAC role (repeatable)"),
    scope: list[str] = typer.Option([], "--scope", help="repeatable"),
    expires_in_days: float | None = typer.Option(None, "--expires-in-days"),
    config: Path | None = ConfigOption,
) -> None:
    """Create an API key for an MCP client; the key is printed once."""
    row, key = _run(config, lambda f: f.api_keys.create(name, client_id, role, scope, expires_in_days, ACTOR))
    err_console.print(
        f"API key {row.id} for client {row.client_id} (store it now, it is not shown again):", highlight=False
    )
    print(key)


@keys_app.command("list")
def keys_list(config: Path | None = ConfigOption, as_json: bool = typer.Option(False, "--json")) -> None:
    keys = _run(config, lambda f: f.api_keys.list())
    if as_json:
        print(json.dumps(keys, indent=2))
        return
    table = Table(title="API keys")
    for col in ("id", "name", "client", "roles", "status"):
        table.add_column(col)
    for k in keys:
        table.add_row(k["id"], k["name"], k["client_id"], ", ".join(k["roles"]), k["status"])
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str, config: Path | None = ConfigOption) -> None:
    _run(config, lambda f: f.api_keys.revoke(key_id, ACTOR))
    console.print(f"API key {key_id} revoked", highlight=False)


# ---- upstream OAuth ------------------------------------------------------------------------
async def _loopback_callback() -> tuple[str, asyncio.Future[dict[str, str]], asyncio.AbstractServer]:
    """A one-shot HTTP listener on 127.0.0.1 for the authorization redirect."""
    future: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode("latin-1")
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        parts = line.split(" ")
        query = parse_qs(urlparse(parts[1]).query) if len(parts) > 1 else {}
        params = {k: v[0] for k, v in query.items()}
        ok = "code" in params
        body = b"Signed in. You can close this window." if ok else b"Sign-in failed."
        writer.write(
            b"HTTP/1.1 "
            + (b"200 OK" if ok else b"400 Bad Request")
            + b"\r\nContent-Type: text/plain\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )
        await writer.drain()
        writer.close()
        if "code" in params or "error" in params:
            if not future.done():
                future.set_result(params)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}/callback", future, server


@upstream_app.command("login")
def upstream_login(
    server: str,
    url: str | None = typer.Option(None, "--url", help="if not in the config"),
    device: bool = typer.Option(False, "--device", help="device code flow (no browser here)"),
    no_browser: bool = typer.Option(False, "--no-browser"),
    config: Path | None = ConfigOption,
) -> None:
    """Sign in to a remote MCP server; its tokens go to the vault."""
    from mcp.shared.auth import AuthorizationCodeResult

    async def action(feature: Any) -> dict[str, Any]:
        upstream = feature.upstream
        if device:

            def show(info: dict[str, Any]) -> None:
                err_console.print(
                    f"open {info.get('verification_uri_complete') or info['verification_uri']} "
                    f"and enter the code [bold]{info['user_code']}[/bold]",
                    highlight=False,
                )

            return await upstream.device_login(server, url, show)
        redirect_uri, future, listener = await _loopback_callback()

        async def on_redirect(auth_url: str) -> None:
            err_console.print(f"open this URL to sign in:\n{auth_url}", highlight=False, soft_wrap=True)
            if not no_browser:
                webbrowser.open(auth_url)

        async def on_callback() -> AuthorizationCodeResult:
            params = await asyncio.wait_for(future, timeout=600)
            if "code" not in params:
                raise ValueError(
                    f"authorization failed: {params.get('error')} {params.get('error_description', '')}"
                )
            return AuthorizationCodeResult(
                code=params["code"], state=params.get("state"), iss=params.get("iss")
            )

        try:
            return await upstream.login_code(server, url, on_redirect, on_callback, redirect_uri)
        finally:
            listener.close()

    status = _run(config, action)
    console.print(
        f"signed in to {server}; token stored in the vault (expires at {status['expires_at']})",
        highlight=False,
    )


@upstream_app.command("status")
def upstream_status(config: Path | None = ConfigOption) -> None:
    rows = _run(config, lambda f: _value(f.upstream.servers()))
    print(json.dumps(rows, indent=2))


@upstream_app.command("logout")
def upstream_logout(server: str, config: Path | None = ConfigOption) -> None:
    if not _run(config, lambda f: _value(f.upstream.sign_out(server))):
        err_console.print(f"[red]error:[/red] no stored sign-in for {server}", highlight=False)
        raise typer.Exit(1)
    console.print(f"signed out of {server}", highlight=False)


async def _value(value: Any) -> Any:
    return value


# ---- vault ---------------------------------------------------------------------------------
@vault_app.command("set")
def vault_set(
    name: str,
    description: str = typer.Option("", "--description"),
    value_stdin: bool = typer.Option(False, "--value-stdin"),
    config: Path | None = ConfigOption,
) -> None:
    """Store a secret (read from the terminal without echo, or from stdin)."""
    value = sys.stdin.readline().rstrip("\n") if value_stdin else getpass.getpass(f"value of {name}: ")
    if not value:
        err_console.print("[red]error:[/red] empty value")
        raise typer.Exit(1)
    _run(config, lambda f: _value(f.vault.set(name, value, description)))
    console.print(f"stored {name}", highlight=False)


@vault_app.command("list")
def vault_list(config: Path | None = ConfigOption) -> None:
    print(json.dumps(_run(config, lambda f: _value(f.vault.list())), indent=2))


@vault_app.command("delete")
def vault_delete(name: str, config: Path | None = ConfigOption) -> None:
    if not _run(config, lambda f: _value(f.vault.delete(name))):
        err_console.print(f"[red]error:[/red] no secret named {name}", highlight=False)
        raise typer.Exit(1)
    console.print(f"deleted {name}", highlight=False)
