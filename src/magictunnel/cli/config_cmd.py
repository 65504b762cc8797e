"""`magictunnel config validate` and `magictunnel config show`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from magictunnel.cli.common import ConfigOption, load_or_exit
from magictunnel.config.loader import effective_with_sources

config_app = typer.Typer(help="Inspect and check the configuration.", no_args_is_help=True)
console = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


@config_app.command("validate")
def validate(config: Path | None = ConfigOption) -> None:
    """Check the configuration file; exit 2 with file, key and expectation on problems."""
    loaded = load_or_exit(config)
    console.print(
        f"configuration OK: {loaded.source_name} (mode {loaded.config.runtime_mode.value})", highlight=False
    )


@config_app.command("show")
def show(
    config: Path | None = ConfigOption,
    as_json: bool = typer.Option(False, "--json", help="print JSON rows instead of a table"),
) -> None:
    """The effective configuration with the source of each value."""
    loaded = load_or_exit(config)
    rows = effective_with_sources(loaded)
    if as_json:
        print(json.dumps([{"key": k, "value": v, "source": s} for k, v, s in rows], indent=2, default=str))
        return
    table = Table(title=f"effective configuration ({loaded.source_name})")
    table.add_column("key")
    table.add_column("value")
    table.add_column("source")
    for key, value, source in rows:
        table.add_row(key, json.dumps(value, default=str), source)
    console.print(table)
