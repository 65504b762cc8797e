"""From one server's listing to catalog entries: filtering, hiding and naming.

Strategies (`external_mcp.naming`, or per server `naming:`):
- prefix (default): every tool and prompt is served as `<server>_<name>`.
- local_first: names unchanged unless taken (by a local tool or an earlier server), then prefixed.
- reject: names unchanged; a name already taken is not served and is reported as a conflict.
- passthrough: one upstream's names unchanged (a collision is reported and skipped, like reject).

The original name is kept on every entry (`original_name`) and is what goes upstream.
Resources keep their URIs (a URI names its server's resource; the catalog keeps the first).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from magictunnel.catalog.catalog import SourceSnapshot
from magictunnel.catalog.models import (
    PromptArgumentDef,
    PromptDef,
    ResourceDef,
    ResourceTemplateDef,
    Routing,
    ToolDef,
)
from magictunnel.upstream.config import ServerSpec

ROUTING_TYPE = "external_mcp"
SOURCE_PRIORITY = 20
_INVALID = re.compile(r"[^A-Za-z0-9_.-]")
STRATEGIES = ("prefix", "local_first", "reject", "passthrough")


def source_name(server: str) -> str:
    return f"server:{server}"


def safe_name(name: str) -> str:
    """A name the catalog accepts (A-Z a-z 0-9 _ . -, at most 64), stable for the same input."""
    cleaned = _INVALID.sub("_", name) or "_"
    if len(cleaned) <= 64:
        return cleaned
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{cleaned[:55]}_{digest}"


def matches(name: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs)


def keep_tool(spec: ServerSpec, name: str) -> bool:
    if spec.allow and not matches(name, spec.allow):
        return False
    return not (spec.deny and matches(name, spec.deny))


@dataclass
class Built:
    snapshot: SourceSnapshot
    conflicts: list[str] = field(default_factory=list)
    filtered: list[str] = field(default_factory=list)


def _served(strategy: str, spec: ServerSpec, name: str, taken: set[str]) -> tuple[str | None, str | None]:
    """(served name, conflict message)."""
    prefixed = safe_name(f"{spec.tool_prefix}_{name}")
    plain = safe_name(name)
    if strategy == "prefix":
        if prefixed in taken:
            return None, f"{spec.name}: {name!r} would be served as {prefixed!r}, which is taken; skipped"
        return prefixed, None
    if plain not in taken:
        return plain, None
    if strategy == "local_first":
        if prefixed in taken:
            return None, f"{spec.name}: {name!r} and {prefixed!r} are both taken; skipped"
        return prefixed, f"{spec.name}: {name!r} is taken; served as {prefixed!r}"
    return None, f"{spec.name}: {name!r} is already served by another source; rejected ({strategy})"


def build_snapshot(
    spec: ServerSpec, listing: dict[str, Any], strategy: str, taken_tools: set[str], taken_prompts: set[str]
) -> Built:
    """Turn a server's listing (wire dicts) into a catalog SourceSnapshot."""
    source = source_name(spec.name)
    built = Built(SourceSnapshot(name=source, priority=SOURCE_PRIORITY))
    snap = built.snapshot
    routing_config: dict[str, Any] = {"server": spec.name}
    if spec.timeout is not None:
        routing_config["timeout"] = spec.timeout
    seen: set[str] = set()
    for raw in listing.get("tools") or []:
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            continue
        if not keep_tool(spec, name):
            built.filtered.append(name)
            continue
        served, conflict = _served(strategy, spec, name, taken_tools | seen)
        if conflict:
            built.conflicts.append(conflict)
        if served is None:
            continue
        seen.add(served)
        schema = raw.get("inputSchema")
        annotations = raw.get("annotations")
        meta = raw.get("_meta")
        snap.tools.append(
            ToolDef.model_construct(
                name=served,
                description=raw.get("description") or "",
                title=raw.get("title") if isinstance(raw.get("title"), str) else None,
                input_schema=schema if isinstance(schema, dict) else {"type": "object", "properties": {}},
                output_schema=raw.get("outputSchema") if isinstance(raw.get("outputSchema"), dict) else None,
                annotations=annotations if isinstance(annotations, dict) else None,
                routing=Routing(type=ROUTING_TYPE, config=routing_config),
                hidden=spec.hide_all or matches(name, spec.hidden),
                enabled=True,
                keywords=[],
                examples=[],
                category=spec.name,
                source=source,
                server=spec.name,
                original_name=name,
                meta=meta if isinstance(meta, dict) else None,
            )
        )
    seen_prompts: set[str] = set()
    for raw in listing.get("prompts") or []:
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            continue
        served, conflict = _served(strategy, spec, name, taken_prompts | seen_prompts)
        if conflict:
            built.conflicts.append(f"prompt {conflict}")
        if served is None:
            continue
        seen_prompts.add(served)
        args = []
        for arg in raw.get("arguments") or []:
            if isinstance(arg, dict) and isinstance(arg.get("name"), str):
                args.append(
                    PromptArgumentDef(
                        name=arg["name"],
                        description=arg.get("description"),
                        required=bool(arg.get("required", False)),
                    )
                )
        snap.prompts.append(
            PromptDef(
                name=served,
                title=raw.get("title"),
                description=raw.get("description"),
                arguments=args,
                source=source,
                server=spec.name,
                original_name=name,
            )
        )
    for raw in listing.get("resources") or []:
        if isinstance(raw.get("uri"), str):
            snap.resources.append(
                ResourceDef(
                    uri=raw["uri"],
                    name=str(raw.get("name") or raw["uri"]),
                    title=raw.get("title"),
                    description=raw.get("description"),
                    mime_type=raw.get("mimeType"),
                    source=source,
                    server=spec.name,
                )
            )
    for raw in listing.get("resource_templates") or []:
        if isinstance(raw.get("uriTemplate"), str):
            snap.resource_templates.append(
                ResourceTemplateDef(
                    uri_template=raw["uriTemplate"],
                    name=str(raw.get("name") or raw["uriTemplate"]),
                    title=raw.get("title"),
                    description=raw.get("description"),
                    mime_type=raw.get("mimeType"),
                    source=source,
                    server=spec.name,
                )
            )
    return built


def template_matches(template: str, uri: str) -> bool:
    """Whether `uri` could come from RFC 6570 level-1 template `template` ({var} segments)."""
    pattern = ""
    pos = 0
    for m in re.finditer(r"\{[^}]*\}", template):
        pattern += re.escape(template[pos : m.start()])
        expr = m.group(0)[1:-1]
        pattern += ".*" if expr[:1] in ("+", "#", "/", "?", "&", ";", ".") else "[^/?#]*"
        pos = m.end()
    pattern += re.escape(template[pos:])
    return re.fullmatch(pattern, uri) is not None
