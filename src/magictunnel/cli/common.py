"""Shared CLI plumbing: load configuration or exit 2 with a readable message, logging set-up."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer
from rich.console import Console

from magictunnel.config import ConfigError, LoadedConfig, load_config

err_console = Console(stderr=True)
ConfigOption = typer.Option(
    None,
    "--config",
    "-c",
    help="configuration file (default: magictunnel-config.yaml, "
    "then config.yaml, then built-in defaults; or MAGICTUNNEL_CONFIG_PATH)",
)


def setup_logging(level: str = "info") -> None:
    numeric = {"trace": logging.DEBUG, "warn": logging.WARNING}.get(level, None)
    if numeric is None:
        numeric = getattr(logging, level.upper(), logging.INFO)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)  # stdout belongs to the stdio transport
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(numeric)
    for noisy in ("httpx", "httpcore", "watchfiles", "uvicorn.access", "mcp", "sse_starlette", "alembic"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))


def load_or_exit(path: Path | None) -> LoadedConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            err_console.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
