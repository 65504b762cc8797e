"""Capability files: YAML that turns APIs, commands and scripts into MCP tools.

Two tool shapes are accepted in the same `tools:` list (and `enhanced_tools:`):

legacy::

    - name: ping
      description: Ping a host
      inputSchema: {type: object, properties: {host: {type: string}}}
      routing: {type: subprocess, config: {command: ping, args: ["-c", "1", "{host}"]}}
      annotations: {readOnlyHint: true}
      hidden: false
      enabled: true

enhanced::

    - name: ping
      core: {description: Ping a host, input_schema: {...}}
      execution: {routing: {type: subprocess, config: {...}}}
      access: {hidden: false, enabled: true}
      discovery: {keywords: [network], examples: ["is example.com up"]}

Files may also carry `prompts:` and `resources:`. Problems are reported with the file,
the tool and the field; a bad tool is skipped, the rest of the file still loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import ValidationError

from magictunnel.catalog.models import (
    PromptDef,
    ResourceDef,
    ResourceTemplateDef,
    Routing,
    ToolDef,
)

# libyaml's parser when PyYAML was built with it: many times faster on large files
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class LoadResult:
    path: Path
    tools: list[ToolDef] = field(default_factory=list)
    prompts: list[PromptDef] = field(default_factory=list)
    resources: list[ResourceDef] = field(default_factory=list)
    resource_templates: list[ResourceTemplateDef] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _loc(err: dict[str, Any]) -> str:
    return ".".join(str(p) for p in err.get("loc", ())) or "<tool>"


def _first(d: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in d:
            return d[key]
    return None


def normalize_tool(entry: dict[str, Any]) -> dict[str, Any]:
    """Map either tool shape onto ToolDef's fields."""
    core = entry.get("core") if isinstance(entry.get("core"), dict) else None
    execution = entry.get("execution") if isinstance(entry.get("execution"), dict) else None
    access = entry.get("access") if isinstance(entry.get("access"), dict) else None
    discovery = entry.get("discovery") if isinstance(entry.get("discovery"), dict) else None

    out: dict[str, Any] = {"name": entry.get("name")}
    src_core = core or entry
    description = _first(src_core, "description")
    if discovery and discovery.get("ai_enhanced_description"):
        description = description or discovery["ai_enhanced_description"]
    if description is not None:
        out["description"] = description
    schema = _first(src_core, "input_schema", "inputSchema")
    if schema is not None:
        out["input_schema"] = schema
    output_schema = _first(src_core, "output_schema", "outputSchema")
    if output_schema is not None:
        out["output_schema"] = output_schema
    for key in ("title", "annotations", "category"):
        value = _first(src_core, key) if core else entry.get(key)
        if value is None and core:
            value = entry.get(key)
        if value is not None:
            out[key] = value
    routing = (execution or {}).get("routing") if execution else entry.get("routing")
    if routing is not None:
        out["routing"] = routing
    flags = access or entry
    for key in ("hidden", "enabled"):
        if key in flags:
            out[key] = flags[key]
    disc = discovery or {}
    keywords = disc.get("keywords", entry.get("keywords"))
    if keywords is not None:
        out["keywords"] = keywords
    examples = disc.get("examples", disc.get("usage_patterns", entry.get("examples")))
    if examples is not None:
        out["examples"] = examples
    if disc.get("ai_enhanced_description") and core and core.get("description"):
        out.setdefault("keywords", [])
        out["examples"] = [*out.get("examples", []), disc["ai_enhanced_description"]]
    return out


def parse_tool(
    entry: Any, where: str, source: str, known_routing: set[str] | None
) -> tuple[ToolDef | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"{where}: expected a mapping describing a tool, got {type(entry).__name__}"]
    name = entry.get("name")
    label = f"{where} ({name})" if isinstance(name, str) else where
    data = normalize_tool(entry)
    if "routing" not in data:
        return None, [f"{label}: routing: missing (every tool needs routing: {{type, config}})"]
    try:
        tool = ToolDef.model_validate({**data, "source": source})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _loc(err)
            if err["type"] == "string_pattern_mismatch" and loc == "name":
                msg = "must match ^[A-Za-z0-9_.-]{1,64}$"
            else:
                msg = err["msg"]
            problems.append(f"{label}: {loc}: {msg}")
        return None, problems
    problems = check_schema(tool.input_schema, f"{label}: inputSchema")
    if tool.input_schema.get("type", "object") != "object":
        problems.append(f'{label}: inputSchema.type: must be "object"')
    if known_routing is not None and tool.routing.type not in known_routing:
        problems.append(
            f"{label}: routing.type: unknown backend {tool.routing.type!r} "
            f"(known: {', '.join(sorted(known_routing))})"
        )
    return (None if problems else tool), problems


def check_schema(schema: dict[str, Any], where: str) -> list[str]:
    try:
        key = json.dumps(schema, sort_keys=True, default=str)
    except (TypeError, ValueError):
        key = None
    problem = _schema_problem(key) if key is not None else _schema_problem_uncached(schema)
    if problem is None:
        return []
    path, message = problem
    return [f"{where}{'.' + path if path else ''}: invalid JSON Schema: {message}"]


@lru_cache(maxsize=8192)
def _schema_problem(key: str) -> tuple[str, str] | None:
    """Schema checks are the slow part of loading a large file; most schemas repeat."""
    return _schema_problem_uncached(json.loads(key))


def _schema_problem_uncached(schema: dict[str, Any]) -> tuple[str, str] | None:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return ".".join(str(p) for p in exc.path), exc.message
    return None


def load_capability_file(path: Path, known_routing: set[str] | None = None) -> LoadResult:
    result = LoadResult(path=path)
    source = f"file:{path}"
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        result.problems.append(f"{path}: cannot read: {exc.strerror}")
        return result
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        result.problems.append(f"{path}: {where}invalid YAML: {getattr(exc, 'problem', None) or exc}")
        return result
    if data is None:
        return result
    if not isinstance(data, dict):
        result.problems.append(f"{path}: expected a mapping with `tools:`, got {type(data).__name__}")
        return result
    meta = data.get("metadata")
    if isinstance(meta, dict):
        result.metadata = meta
    for list_key in ("tools", "enhanced_tools"):
        entries = data.get(list_key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            result.problems.append(f"{path}: {list_key}: expected a list of tools")
            continue
        for idx, entry in enumerate(entries):
            tool, problems = parse_tool(entry, f"{path}: {list_key}[{idx}]", source, known_routing)
            result.problems.extend(problems)
            if tool is not None:
                result.tools.append(tool)
    _load_simple(data, "prompts", PromptDef, path, source, result.prompts, result.problems)
    resources = data.get("resources")
    if resources is not None:
        if not isinstance(resources, list):
            result.problems.append(f"{path}: resources: expected a list")
        else:
            for idx, entry in enumerate(resources):
                where = f"{path}: resources[{idx}]"
                if isinstance(entry, dict) and ("uri_template" in entry or "uriTemplate" in entry):
                    entry = {("uri_template" if k == "uriTemplate" else k): v for k, v in entry.items()}
                    _append_model(
                        ResourceTemplateDef, entry, where, source, result.resource_templates, result.problems
                    )
                else:
                    if isinstance(entry, dict) and "mimeType" in entry:
                        entry = {("mime_type" if k == "mimeType" else k): v for k, v in entry.items()}
                    _append_model(ResourceDef, entry, where, source, result.resources, result.problems)
    return result


def _load_simple(
    data: dict[str, Any],
    key: str,
    model: type[Any],
    path: Path,
    source: str,
    out: list[Any],
    problems: list[str],
) -> None:
    entries = data.get(key)
    if entries is None:
        return
    if not isinstance(entries, list):
        problems.append(f"{path}: {key}: expected a list")
        return
    for idx, entry in enumerate(entries):
        _append_model(model, entry, f"{path}: {key}[{idx}]", source, out, problems)


def _append_model(
    model: type[Any], entry: Any, where: str, source: str, out: list[Any], problems: list[str]
) -> None:
    if not isinstance(entry, dict):
        problems.append(f"{where}: expected a mapping")
        return
    name = entry.get("name")
    label = f"{where} ({name})" if isinstance(name, str) else where
    try:
        out.append(model.model_validate({**entry, "source": source}))
    except ValidationError as exc:
        problems.extend(f"{label}: {_loc(err)}: {err['msg']}" for err in exc.errors())


def expand_paths(patterns: list[str], base: Path | None = None) -> list[Path]:
    """Directories (recursively, *.yaml / *.yml), globs and plain files, de-duplicated, sorted."""
    root = base or Path.cwd()
    found: dict[Path, None] = {}
    for pattern in patterns:
        p = Path(pattern)
        if not p.is_absolute():
            p = root / p
        if any(ch in pattern for ch in "*?["):
            matches = sorted(Path(p.anchor).glob(str(p.relative_to(p.anchor))))
        elif p.is_dir():
            matches = sorted([*p.rglob("*.yaml"), *p.rglob("*.yml")])
        elif p.exists():
            matches = [p]
        else:
            matches = []
        for match in matches:
            if match.is_file() and match.suffix in (".yaml", ".yml"):
                found[match.resolve()] = None
    return sorted(found)


__all__ = ["LoadResult", "Routing", "expand_paths", "load_capability_file"]
