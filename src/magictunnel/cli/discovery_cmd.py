"""`magictunnel discovery rank` (evaluation rankings as JSONL) and `magictunnel discover "request"`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from magictunnel.cli.common import ConfigOption, err_console, load_or_exit

discovery_app = typer.Typer(
    help="Smart discovery: rank tools for plain-language requests.", no_args_is_help=True
)
console = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(discovery_app, name="discovery")
    app.command("discover")(discover)


def _cache_dir(config: Path | None, cache_dir: Path | None, no_cache: bool) -> Path | None:
    if no_cache:
        return None
    if cache_dir is not None:
        return cache_dir
    from magictunnel.discovery.service import data_dir_for

    loaded = load_or_exit(config)
    return data_dir_for(loaded)


def _engine_for_catalog(catalog: Path, cache: Path | None):
    from magictunnel.discovery.embeddings import EmbedderUnavailable
    from magictunnel.discovery.engine import DiscoveryEngine
    from magictunnel.discovery.evaluation import DataFileError, load_catalog

    try:
        docs = load_catalog(catalog)
    except DataFileError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    engine = DiscoveryEngine(cache_dir=cache)
    engine.build(docs)
    for later in (engine.second_embedder, engine.third_embedder):
        warm = getattr(later, "warm", None)
        if warm is not None:  # as the gateway does at start: every request then gets every stage
            try:
                warm()
            except EmbedderUnavailable as exc:
                err_console.print(f"[yellow]warning:[/yellow] ranking without that stage: {exc}")
    return engine


@discovery_app.command("rank")
def rank(
    catalog: Path = typer.Option(
        ..., "--catalog", help="catalog JSON: a list of {server, name, description, inputSchema}"
    ),
    queries: Path = typer.Option(..., "--queries", help="queries JSONL: {id, query[, expected]} per line"),
    top_k: int = typer.Option(10, "--top-k", min=1, max=1000, help="results per query"),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        min=0.0,
        max=1.0,
        help="print [] for a query whose best confidence is below this (default: always print the "
        "ranking; scores are calibrated confidences, the gateway's default threshold is 0.7)",
    ),
    config: Path | None = ConfigOption,
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="embedding cache directory (default: <storage.data_dir>/discovery)"
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="do not read or write the embedding cache"),
) -> None:
    """Rank every query against the catalog with the gateway's ranking code; print rankings JSONL."""
    from magictunnel.discovery.evaluation import DataFileError, load_queries, rank_queries

    try:
        query_list = load_queries(queries)
    except DataFileError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    engine = _engine_for_catalog(catalog, _cache_dir(config, cache_dir, no_cache))
    out = sys.stdout
    for row in rank_queries(engine, query_list, top_k=top_k, threshold=threshold):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    out.flush()


def discover(
    request: str = typer.Argument(..., help="what you want done, in plain words"),
    top_k: int = typer.Option(5, "--top-k", min=1, max=100, help="candidates to show"),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="rank a catalog JSON file instead of the gateway's configured tools"
    ),
    config: Path | None = ConfigOption,
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Show the tools smart discovery would pick for a request, with scores."""
    if not request.strip():
        err_console.print("[red]error:[/red] request: must not be empty", highlight=False)
        raise typer.Exit(2)
    if catalog is not None:
        engine = _engine_for_catalog(catalog, _cache_dir(config, None, False))
        hits = engine.search(request, top_k=top_k)
        rows = [(h.doc.server, h.doc.name, h) for h in hits]
    else:
        rows = asyncio.run(_discover_in_gateway(config, request, top_k))
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "server": s,
                        "name": n,
                        "confidence": round(h.confidence, 4),
                        "score": round(h.score, 4),
                        "reasoning": h.reasoning(),
                    }
                    for s, n, h in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not rows:
        console.print("no tools to rank")
        return
    table = Table(title=f"candidates for: {request}")
    for column in ("#", "tool", "server", "confidence", "score", "why"):
        table.add_column(column)
    for i, (server, name, hit) in enumerate(rows, 1):
        table.add_row(
            str(i), name, server or "-", f"{hit.confidence:.2f}", f"{hit.score:.2f}", hit.reasoning()
        )
    console.print(table)


async def _discover_in_gateway(config: Path | None, request: str, top_k: int):
    from magictunnel.core.gateway import Gateway
    from magictunnel.core.services import ServiceStartError

    loaded = load_or_exit(config)
    gateway = Gateway(loaded)
    try:
        await gateway.start()
    except ServiceStartError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        await gateway.stop()
        raise typer.Exit(1) from None
    try:
        service = gateway.extensions.get("discovery")
        if service is None:
            err_console.print(
                "[red]error:[/red] smart discovery is not enabled (smart_discovery.enabled)", highlight=False
            )
            raise typer.Exit(1)
        await service.ready()
        hits = service.engine.search(request, top_k=top_k)
        return [(h.doc.server, h.doc.key, h) for h in hits]
    finally:
        await gateway.stop()
