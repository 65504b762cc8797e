"""One entry point for every generator, used by the CLI and the REST API.

`generate(kind, source, options)` runs the OpenAPI, GraphQL or gRPC generator with options
given as a mapping (unknown option names are an error naming them); `preview` and
`write` turn the result into a capability file, the latter merging over an existing file.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Any

from magictunnel.generators.common import GenerationResult
from magictunnel.generators.graphql_gen import GraphQLOptions, generate_graphql
from magictunnel.generators.grpc_gen import GrpcOptions, generate_grpc
from magictunnel.generators.openapi import OpenAPIOptions, generate_openapi
from magictunnel.generators.output import ChangeReport, build_document, dump_yaml, load_existing, write_result

KINDS = ("openapi", "graphql", "grpc")
OPTION_CLASSES: dict[str, type[Any]] = {
    "openapi": OpenAPIOptions,
    "graphql": GraphQLOptions,
    "grpc": GrpcOptions,
}


class OptionsError(ValueError):
    pass


def make_options(kind: str, options: dict[str, Any] | None) -> Any:
    if kind not in OPTION_CLASSES:
        raise OptionsError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    cls = OPTION_CLASSES[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    options = dict(options or {})
    unknown = sorted(set(options) - names)
    if unknown:
        raise OptionsError(
            f"options: unknown for {kind}: {', '.join(unknown)} (known: {', '.join(sorted(names))})"
        )
    try:
        return cls(**options)
    except TypeError as exc:
        raise OptionsError(f"options: {exc}") from None


def generate(
    kind: str,
    source: str | None,
    options: dict[str, Any] | None = None,
    *,
    content: str | None = None,
    introspect: bool = False,
) -> GenerationResult:
    """Run a generator. `content` (spec text) may replace `source` for OpenAPI and GraphQL."""
    opts = make_options(kind, options)
    if kind == "grpc":
        return generate_grpc(opts)
    if content is not None:
        suffix = ".graphql" if kind == "graphql" and not content.lstrip().startswith("{") else ".yaml"
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"spec{suffix}"
            path.write_text(content, encoding="utf-8")
            result = _run(kind, str(path), opts, introspect)
            result.source = "<inline>"
            return result
    if not source:
        raise OptionsError("source: required (a file path or URL), or inline content")
    return _run(kind, source, opts, introspect)


def _run(kind: str, source: str, opts: Any, introspect: bool) -> GenerationResult:
    if kind == "openapi":
        return generate_openapi(source, opts)
    return generate_graphql(source, opts, introspect=introspect)


def preview(result: GenerationResult, output: Path | None = None) -> tuple[dict[str, Any], ChangeReport, str]:
    """What would be written (document, change report against `output` if it exists, YAML text)."""
    existing = load_existing(output) if output is not None else None
    doc, report = build_document(result, existing)
    return doc, report, dump_yaml(doc)


def write(result: GenerationResult, output: Path, keep_removed: bool = False) -> tuple[ChangeReport, str]:
    return write_result(result, output, keep_removed)
