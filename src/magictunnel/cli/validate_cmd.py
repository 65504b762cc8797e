"""`magictunnel validate PATH...`: schema-check capability files.

Runs exactly the checks the registry runs at load time (YAML, tool/prompt/resource
shapes, inputSchema as JSON Schema 2020-12, known routing types, each backend's
`routing.config`) and prints every problem with its file, tool and field. Names defined
more than once across the checked files are reported as warnings (the configured
conflict strategy decides at run time).

Exit codes: 0 all valid, 1 problems found, 2 usage error (no such path, no capability
files, invalid configuration).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from magictunnel.catalog.capability_file import expand_paths
from magictunnel.catalog.catalog import Catalog
from magictunnel.catalog.file_registry import FileRegistry
from magictunnel.cli.common import ConfigOption, load_or_exit

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _display(path: Path | str) -> str:
    text = str(path)
    try:
        rel = os.path.relpath(text)
    except ValueError:
        return text
    return text if rel.startswith("..") else rel


def _shorten(message: str, files: list[Path]) -> str:
    for path in files:
        message = message.replace(str(path), _display(path))
    return message


def check_paths(paths: list[Path], known_routing: set[str], check_routing: Any) -> dict[str, Any]:
    """Load the capability files under `paths` the way the registry does; a JSON-able report."""
    files = expand_paths([str(p) for p in paths])
    registry = FileRegistry(Catalog(), [str(f) for f in files], known_routing, check_routing=check_routing)
    quiet = logging.getLogger("magictunnel.registry")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # problems are printed below, once
    try:
        registry.load()
    finally:
        quiet.setLevel(level)
    report: dict[str, Any] = {"files": [], "problems": 0, "warnings": []}
    first_seen: dict[str, Path] = {}
    for path in files:
        result = registry.results.get(path)
        if result is None:
            continue
        problems = [_shorten(p, files) for p in result.problems]
        report["files"].append(
            {
                "file": _display(path),
                "tools": [t.name for t in result.tools],
                "prompts": [p.name for p in result.prompts],
                "resources": [r.uri for r in result.resources]
                + [t.uri_template for t in result.resource_templates],
                "problems": problems,
            }
        )
        report["problems"] += len(problems)
        for tool in result.tools:
            if tool.name in first_seen and first_seen[tool.name] != path:
                report["warnings"].append(
                    f"{_display(path)}: tool {tool.name}: name also defined in {_display(first_seen[tool.name])}"
                )
            first_seen.setdefault(tool.name, path)
    return report


def validate(
    paths: list[Path] = typer.Argument(
        ..., help="capability files or directories (searched for *.yaml / *.yml)"
    ),
    config: Path | None = ConfigOption,
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="print problems only"),
) -> None:
    """Schema-check capability files; print each problem with file, tool and field."""
    missing = [p for p in paths if not p.exists()]
    if missing:
        for path in missing:
            err_console.print(f"[red]error:[/red] {path}: no such file or directory")
        raise typer.Exit(2)
    if not expand_paths([str(p) for p in paths]):
        err_console.print(
            "[red]error:[/red] no capability files (*.yaml, *.yml) found in: "
            + ", ".join(str(p) for p in paths)
        )
        raise typer.Exit(2)
    from magictunnel.core.gateway import Gateway

    gateway = Gateway(load_or_exit(config))
    report = check_paths(paths, gateway.backends.types(), gateway._check_routing)
    if as_json:
        print(json.dumps(report, indent=2))
        raise typer.Exit(1 if report["problems"] else 0)
    for entry in report["files"]:
        for problem in entry["problems"]:
            console.print(f"[red]error:[/red] {problem}")
        if not quiet and not entry["problems"]:
            counts = ", ".join(
                _plural(len(entry[key]), key[:-1])
                for key in ("tools", "prompts", "resources")
                if entry[key] or key == "tools"
            )
            console.print(f"[green]ok[/green] {entry['file']} ({counts})")
    for warning in report["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    tools = sum(len(e["tools"]) for e in report["files"])
    bad_files = sum(1 for e in report["files"] if e["problems"])
    summary = (
        f"{_plural(len(report['files']), 'file')}, {_plural(tools, 'valid tool')}, "
        f"{_plural(report['problems'], 'problem')}"
    )
    if bad_files:
        summary += f" in {_plural(bad_files, 'file')}"
    console.print(summary)
    raise typer.Exit(1 if report["problems"] else 0)
