"""`magictunnel generate openapi|graphql|grpc|merge`: turn APIs into capability files.

Every generator writes (or with `--dry-run` prints) a capability file the registry loads.
Regenerating over an existing file keeps manual edits the generator does not own and
reports what changed. Problems in the spec are printed with their location; the command
exits 1 when nothing could be generated, 0 otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the generators (protobuf, graphql-core) load only when a command runs
    from magictunnel.generators.common import GenerationResult

generate_app = typer.Typer(
    help="Generate MCP tools from OpenAPI, GraphQL or gRPC definitions.", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True)
out = Console()


def register(app: typer.Typer) -> None:
    app.add_typer(generate_app, name="generate")


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            console.print(f"[red]{option}: expected NAME=VALUE, got {value!r}[/red]")
            raise typer.Exit(2)
        pairs[key] = val
    return pairs


def _auth(
    auth_type: str | None, credential: str | None, name: str | None, where: str
) -> dict[str, Any] | None:
    if not auth_type and not credential:
        return None
    if not auth_type or not credential:
        console.print(
            "[red]--auth-type and its credential option go together (a vault credential name, never a secret)[/red]"
        )
        raise typer.Exit(2)
    if auth_type not in ("bearer", "api_key", "basic"):
        console.print(f"[red]--auth-type: expected bearer, api_key or basic, got {auth_type!r}[/red]")
        raise typer.Exit(2)
    auth: dict[str, Any] = {"type": auth_type, "credential": credential}
    if auth_type == "api_key":
        auth["in"] = where
        auth["name"] = name or "X-API-Key"
    return auth


def _finish(
    result: GenerationResult, output: Path | None, dry_run: bool, as_json: bool, keep_removed: bool
) -> None:
    for problem in result.problems:
        console.print(f"[red]error[/red] {problem}", highlight=False, soft_wrap=True)
    for warning in result.warnings[:50]:
        console.print(f"[yellow]warning[/yellow] {warning}", highlight=False, soft_wrap=True)
    if len(result.warnings) > 50:
        console.print(f"[yellow]... {len(result.warnings) - 50} more warnings[/yellow]")
    from magictunnel.generators.service import preview, write

    if dry_run or output is None:
        _doc, report, text = preview(result, output)
        if as_json:
            _print_json(
                {
                    **result.summary(),
                    "changes": report.as_dict(),
                    "tool_names": [t["name"] for t in result.tools],
                }
            )
        elif dry_run:
            _table(result)
            for line in report.lines() if output is not None and output.exists() else []:
                console.print(line, highlight=False)
            console.print(
                f"dry run: {len(result.tools)} tools would be written" + (f" to {output}" if output else ""),
                highlight=False,
            )
        else:
            sys.stdout.write(text)
    else:
        report, _ = write(result, output, keep_removed)
        if as_json:
            _print_json({**result.summary(), "output": str(output), "changes": report.as_dict()})
        else:
            console.print(f"wrote {len(result.tools)} tools to {output}", highlight=False)
            for line in report.lines():
                console.print("  " + line, highlight=False)
    if not result.tools:
        raise typer.Exit(1)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def _table(result: GenerationResult) -> None:
    table = Table("tool", "route", "arguments (* required)", title=f"{result.kind}: {result.source}")
    for tool in result.tools:
        cfg = tool["routing"]["config"]
        route = (
            f"{cfg.get('method', '')} {cfg.get('url', '')}"
            if tool["routing"]["type"] == "http"
            else f"{cfg.get('operation_name', '')} @ {cfg.get('endpoint', '')}"
            if tool["routing"]["type"] == "graphql"
            else f"{cfg.get('service')}/{cfg.get('method')} @ {cfg.get('target')}"
        )
        schema = tool.get("inputSchema") or {}
        req = set(schema.get("required") or [])
        args = ", ".join(f"{n}{'*' if n in req else ''}" for n in (schema.get("properties") or {}))
        table.add_row(tool["name"], route.strip(), args)
    out.print(table)


Output = typer.Option(None, "--output", "-o", help="capability file to write (omit to print YAML)")
DryRun = typer.Option(
    False, "--dry-run", help="show what would be generated and what would change; write nothing"
)
AsJson = typer.Option(False, "--json", help="print a JSON summary")
KeepRemoved = typer.Option(False, "--keep-removed", help="keep tools that are no longer in the spec")
Prefix = typer.Option("", "--prefix", help="prefix for every tool name")
Naming = typer.Option("keep", "--naming", help="tool names: keep (as in the spec), snake or camel")


@generate_app.command("openapi")
def openapi_cmd(
    spec: str = typer.Argument(..., help="OpenAPI 3.x / Swagger 2.0 file or URL (JSON or YAML)"),
    output: Path | None = Output,
    base_url: str | None = typer.Option(None, "--base-url", help="override the servers' base URL"),
    server_index: int = typer.Option(0, "--server", help="which `servers` entry to use"),
    server_var: list[str] = typer.Option([], "--server-var", help="server variable NAME=VALUE"),
    prefix: str = Prefix,
    naming: str = Naming,
    tag: list[str] = typer.Option([], "--tag", help="only operations with this tag (repeatable)"),
    exclude_tag: list[str] = typer.Option([], "--exclude-tag"),
    path: list[str] = typer.Option([], "--path", help="only paths matching this glob (repeatable)"),
    exclude_path: list[str] = typer.Option([], "--exclude-path"),
    method: list[str] = typer.Option([], "--method", help="only these HTTP methods (repeatable)"),
    no_deprecated: bool = typer.Option(False, "--no-deprecated", help="skip deprecated operations"),
    credential: list[str] = typer.Option(
        [], "--credential", help="SCHEME=NAME: vault credential for a security scheme"
    ),
    credential_prefix: str | None = typer.Option(
        None, "--credential-prefix", help="prefix of default credential names"
    ),
    no_output_schema: bool = typer.Option(False, "--no-output-schema"),
    output_depth: int = typer.Option(2, "--output-depth", help="levels of nesting kept in output schemas"),
    timeout: float | None = typer.Option(None, "--timeout", help="per-call timeout written into routing"),
    auth_type: str | None = typer.Option(
        None, "--auth-type", help="bearer, api_key or basic, for operations the spec declares no security for"
    ),
    auth_credential: str | None = typer.Option(
        None, "--auth-credential", help="vault credential name for --auth-type"
    ),
    auth_name: str | None = typer.Option(None, "--auth-name", help="header or query name for api_key"),
    auth_in: str = typer.Option("header", "--auth-in", help="header, query or cookie for api_key"),
    dry_run: bool = DryRun,
    as_json: bool = AsJson,
    keep_removed: bool = KeepRemoved,
) -> None:
    """One tool per OpenAPI operation, routed to the http backend."""
    options = {
        "base_url": base_url,
        "server_index": server_index,
        "server_variables": _pairs(server_var, "--server-var"),
        "prefix": prefix,
        "naming": naming,
        "include_tags": tag,
        "exclude_tags": exclude_tag,
        "include_paths": path,
        "exclude_paths": exclude_path,
        "methods": method,
        "include_deprecated": not no_deprecated,
        "credentials": _pairs(credential, "--credential"),
        "credential_prefix": credential_prefix,
        "output_schema": not no_output_schema,
        "max_output_depth": output_depth,
        "timeout": timeout,
        "auth": _auth(auth_type, auth_credential, auth_name, auth_in),
    }
    _check_naming(naming)
    _finish(_run("openapi", spec, options), output, dry_run, as_json, keep_removed)


@generate_app.command("graphql")
def graphql_cmd(
    schema: str = typer.Argument(
        ..., help="SDL file, introspection JSON (file or URL), or an endpoint with --introspect"
    ),
    endpoint: str = typer.Option("", "--endpoint", help="GraphQL endpoint the tools call"),
    introspect: bool = typer.Option(
        False, "--introspect", help="SCHEMA is a live endpoint: run introspection"
    ),
    introspection_header: list[str] = typer.Option(
        [], "--introspection-header", help="NAME=VALUE sent with the introspection request only (not written)"
    ),
    output: Path | None = Output,
    depth: int = typer.Option(2, "--depth", help="levels of nested objects in generated selection sets"),
    prefix: str = Prefix,
    naming: str = Naming,
    no_mutations: bool = typer.Option(False, "--no-mutations"),
    field: list[str] = typer.Option([], "--field", help="only these root fields (repeatable)"),
    auth_type: str | None = typer.Option(None, "--auth-type", help="bearer, api_key or basic"),
    credential: str | None = typer.Option(None, "--credential", help="vault credential name"),
    auth_name: str | None = typer.Option(None, "--auth-name", help="header or query name for api_key"),
    auth_in: str = typer.Option("header", "--auth-in", help="header, query or cookie for api_key"),
    dry_run: bool = DryRun,
    as_json: bool = AsJson,
    keep_removed: bool = KeepRemoved,
) -> None:
    """One tool per query and mutation field, routed to the graphql backend."""
    _check_naming(naming)
    options = {
        "endpoint": endpoint,
        "depth": depth,
        "prefix": prefix,
        "naming": naming,
        "include_mutations": not no_mutations,
        "fields": field or None,
        "auth": _auth(auth_type, credential, auth_name, auth_in),
        "introspection_headers": _pairs(introspection_header, "--introspection-header") or None,
    }
    _finish(_run("graphql", schema, options, introspect=introspect), output, dry_run, as_json, keep_removed)


@generate_app.command("grpc")
def grpc_cmd(
    proto: list[str] = typer.Argument(None, help=".proto files (omit with --reflection)"),
    target: str = typer.Option(..., "--target", help="host:port of the gRPC server"),
    reflection: bool = typer.Option(False, "--reflection", help="read services from server reflection"),
    import_path: list[str] = typer.Option([], "--import-path", "-I", help="proto include directory"),
    service: list[str] = typer.Option([], "--service", help="only these services (repeatable)"),
    tls: bool = typer.Option(False, "--tls"),
    output: Path | None = Output,
    prefix: str = Prefix,
    naming: str = Naming,
    qualify: bool = typer.Option(False, "--qualify", help="name tools Service_Method"),
    max_messages: int = typer.Option(100, "--max-messages", help="limit for collected streaming responses"),
    auth_type: str | None = typer.Option(
        None, "--auth-type", help="bearer, api_key or basic (sent as metadata)"
    ),
    credential: str | None = typer.Option(None, "--credential", help="vault credential name"),
    auth_name: str | None = typer.Option(None, "--auth-name", help="metadata key for api_key"),
    dry_run: bool = DryRun,
    as_json: bool = AsJson,
    keep_removed: bool = KeepRemoved,
) -> None:
    """One tool per gRPC method, routed to the grpc backend."""
    _check_naming(naming)
    if not proto and not reflection:
        console.print("[red]give .proto files or --reflection[/red]")
        raise typer.Exit(2)
    options = {
        "target": target,
        "proto_files": list(proto or []),
        "relative_to": str(output.parent) if output is not None else None,
        "import_paths": import_path,
        "reflection": reflection,
        "tls": tls,
        "services": service,
        "prefix": prefix,
        "naming": naming,
        "qualify": qualify,
        "max_messages": max_messages,
        "auth": _auth(auth_type, credential, auth_name, "header"),
    }
    _finish(_run("grpc", None, options), output, dry_run, as_json, keep_removed)


@generate_app.command("merge")
def merge_cmd(
    files: list[Path] = typer.Argument(..., help="capability files to merge"),
    output: Path | None = Output,
    on_conflict: str = typer.Option("error", "--on-conflict", help="error, first, last or prefix"),
    dry_run: bool = DryRun,
) -> None:
    """Merge capability files into one (name conflicts: error, keep first/last, or prefix with the file name)."""
    if on_conflict not in ("error", "first", "last", "prefix"):
        console.print(f"[red]--on-conflict: expected error, first, last or prefix, got {on_conflict!r}[/red]")
        raise typer.Exit(2)
    from magictunnel.generators.output import dump_yaml, merge_files

    doc, problems = merge_files(files, on_conflict)
    for problem in problems:
        console.print(f"[red]error[/red] {problem}", highlight=False)
    if problems and on_conflict == "error":
        raise typer.Exit(1)
    text = dump_yaml(doc)
    if dry_run:
        console.print(
            f"dry run: {len(doc['tools'])} tools would be written" + (f" to {output}" if output else "")
        )
    elif output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {len(doc['tools'])} tools to {output}", highlight=False)


def _check_naming(naming: str) -> None:
    if naming not in ("keep", "snake", "camel"):
        console.print(f"[red]--naming: expected keep, snake or camel, got {naming!r}[/red]")
        raise typer.Exit(2)


def _run(
    kind: str, source: str | None, options: dict[str, Any], introspect: bool = False
) -> GenerationResult:
    from magictunnel.generators.service import OptionsError, generate

    try:
        return generate(kind, source, options, introspect=introspect)
    except OptionsError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
