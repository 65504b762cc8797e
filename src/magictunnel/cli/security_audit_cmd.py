"""`magictunnel security audit ...`: reading and exporting the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

# defined before the helpers are imported, so either module may be imported first
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)

from magictunnel.cli.common import ConfigOption  # noqa: E402
from magictunnel.cli.security_cmd import JsonOption, _print_json, _run, _table, console  # noqa: E402


def _entries(rows: list[dict[str, Any]], title: str, as_json: bool) -> None:
    if as_json:
        _print_json(rows)
        return
    _table(
        title,
        ("time", "event", "outcome", "client", "tool", "rule", "message"),
        [
            (
                e["time"],
                f"{e['event_type']}/{e['action']}",
                e["outcome"],
                e["client_id"] or "",
                e["tool"] or "",
                e["rule"] or "",
                (e["message"] or "")[:80],
            )
            for e in rows
        ],
    )


@audit_app.command("recent")
def audit_recent(
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """The newest audit entries."""

    async def action(suite: Any) -> Any:
        return await suite.audit.recent(limit)

    _entries(_run(config, action), "recent audit entries", as_json)


@audit_app.command("search")
def audit_search(
    text: str,
    limit: int = typer.Option(100, "--limit", "-n", min=1, max=10000),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Entries whose message, tool, client, rule or arguments contain TEXT."""

    async def action(suite: Any) -> Any:
        return await suite.audit.search(text, limit)

    _entries(_run(config, action), f"audit entries matching {text!r}", as_json)


@audit_app.command("violations")
def audit_violations(
    limit: int = typer.Option(100, "--limit", "-n", min=1, max=10000),
    config: Path | None = ConfigOption,
    as_json: bool = JsonOption,
) -> None:
    """Denied and blocked calls."""

    async def action(suite: Any) -> Any:
        return await suite.audit.violations(limit)

    _entries(_run(config, action), "security violations", as_json)


@audit_app.command("export")
def audit_export(
    output: Path = typer.Option(..., "--output", "-o", help="file to write"),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv"),
    config: Path | None = ConfigOption,
) -> None:
    """Export the whole audit log (oldest first)."""

    async def action(suite: Any) -> Any:
        q = suite.audit.build_query({})
        count = 0
        with output.open("w", encoding="utf-8", newline="") as fh:
            async for chunk in suite.audit.export(q, fmt):
                fh.write(chunk)
                count += 1
        return count

    count = _run(config, action)
    console.print(f"wrote {output} ({count} chunks)", highlight=False)
