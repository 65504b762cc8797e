"""The `magictunnel` command. Sub-command groups live in their own modules (SUBCOMMANDS)."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="magictunnel",
    help="MagicTunnel: an MCP gateway with smart tool discovery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module with a `register(app)` function). Add a line when a command group lands.
SUBCOMMANDS: list[str] = [
    "magictunnel.cli.discovery_cmd",
    "magictunnel.cli.serve",
    "magictunnel.cli.config_cmd",
    "magictunnel.cli.generate_cmd",
    "magictunnel.cli.validate_cmd",
    "magictunnel.cli.servers_cmd",
    "magictunnel.cli.auth_cmd",
    "magictunnel.cli.security_cmd",
]


def _load() -> None:
    for module_name in SUBCOMMANDS:
        importlib.import_module(module_name).register(app)


def main() -> None:
    _load()
    app()
