"""REST API for the generators: turn an OpenAPI, GraphQL or gRPC definition into tools.

Admin only (`require_admin`). `POST /api/generators/{kind}` runs a generator on a source
(file path or URL) or inline `content`; with `dry_run` (the default when no `output` is
given) it answers with the tools and the changes it would make. With `output` it writes the
capability file, which must lie inside one of the registry's directories (so the gateway
loads it), merging over an existing file like the CLI, and reloads the registry.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from magictunnel.core.gateway import Gateway
from magictunnel.generators.service import KINDS, OPTION_CLASSES, OptionsError, generate, preview, write
from magictunnel.web.deps import get_gateway, require_admin

router = APIRouter(prefix="/api/generators", tags=["generators"])


class GenerateRequest(BaseModel):
    source: str | None = Field(None, description="spec file path or URL (OpenAPI, GraphQL); unused for grpc")
    content: str | None = Field(None, description="the spec itself, instead of source")
    introspect: bool = Field(False, description="graphql: source is a live endpoint to introspect")
    options: dict[str, Any] = Field(
        default_factory=dict, description="generator options (see GET /api/generators)"
    )
    output: str | None = Field(None, description="capability file to write, inside a registry directory")
    dry_run: bool | None = Field(None, description="default: true without output, false with it")
    keep_removed: bool = False
    include_tools: bool = Field(True, description="include the generated tool definitions in the answer")


@router.get("")
async def list_generators(_admin: Any = Depends(require_admin("generators.read"))) -> dict[str, Any]:
    return {
        "kinds": {
            kind: {f.name: _type_name(f.type) for f in dataclasses.fields(OPTION_CLASSES[kind])}
            for kind in KINDS
        }
    }


@router.post("/{kind}")
async def run_generator(
    kind: Literal["openapi", "graphql", "grpc"],
    body: GenerateRequest,
    gateway: Gateway = Depends(get_gateway),
    _admin: Any = Depends(require_admin("generators.run")),
) -> dict[str, Any]:
    if kind != "grpc" and not body.source and body.content is None:
        raise HTTPException(400, detail={"error": "source or content is required"})
    output = _output_path(gateway, body.output) if body.output else None
    dry_run = body.dry_run if body.dry_run is not None else output is None

    source = _local(gateway, body.source) if body.source and not body.introspect else body.source
    options = dict(body.options)
    for key in ("proto_files", "import_paths"):  # relative paths are relative to the gateway's directory
        if isinstance(options.get(key), list):
            options[key] = [_local(gateway, str(p)) for p in options[key]]

    if kind == "grpc" and output is not None:
        options.setdefault("relative_to", str(output.parent))

    def work() -> dict[str, Any]:
        result = generate(kind, source, options, content=body.content, introspect=body.introspect)
        answer: dict[str, Any] = result.summary()
        if dry_run or output is None:
            _doc, report, _text = preview(result, output)
            answer["written"] = False
        else:
            if not result.tools:
                answer["written"] = False
                answer["changes"] = None
                return answer
            report, _text = write(result, output, body.keep_removed)
            answer["written"] = True
            answer["output"] = str(output)
        answer["changes"] = report.as_dict()
        answer["tool_names"] = [t["name"] for t in result.tools]
        if body.include_tools:
            answer["tool_definitions"] = result.tools
        return answer

    try:
        answer = await anyio.to_thread.run_sync(work)
    except OptionsError as exc:
        raise HTTPException(400, detail={"error": str(exc)}) from None
    if answer.get("written"):
        gateway.files.reload()
    status_code = 422 if not answer["tools"] and answer["problems"] else 200
    if status_code != 200:
        raise HTTPException(status_code, detail={"error": "nothing could be generated", **answer})
    return answer


def _output_path(gateway: Gateway, requested: str) -> Path:
    """The output file, which must be a .yaml/.yml inside a registry directory."""
    roots = []
    for entry in gateway.config.registry.paths:
        p = Path(entry)
        if any(ch in entry for ch in "*?["):
            continue
        p = p if p.is_absolute() else gateway.base_dir / p
        if p.suffix not in (".yaml", ".yml"):
            roots.append(p.resolve())
    if not roots:
        raise HTTPException(
            400, detail={"error": "output: no registry directory is configured to write into"}
        )
    candidate = Path(requested)
    target = (candidate if candidate.is_absolute() else roots[0] / candidate).resolve()
    if target.suffix not in (".yaml", ".yml"):
        raise HTTPException(400, detail={"error": "output: expected a .yaml or .yml file name"})
    if not any(target.is_relative_to(root) for root in roots):
        raise HTTPException(
            400,
            detail={
                "error": f"output: must be inside a registry directory ({', '.join(str(r) for r in roots)})"
            },
        )
    return target


def _local(gateway: Gateway, location: str) -> str:
    if "://" in location or Path(location).is_absolute():
        return location
    return str(gateway.base_dir / location)


def _type_name(t: Any) -> str:
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))
