"""Pieces of the OpenAPI generator: options, operation filters, descriptions, annotations."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

SAFE_METHODS = {"get", "head", "options", "trace"}
MAX_DESCRIPTION = 2000


@dataclass
class OpenAPIOptions:
    naming: str = "keep"  # keep (operationId as is) | snake | camel
    prefix: str = ""
    base_url: str | None = None
    server_index: int = 0
    server_variables: dict[str, str] = field(default_factory=dict)
    include_tags: list[str] = field(default_factory=list)
    exclude_tags: list[str] = field(default_factory=list)
    include_paths: list[str] = field(default_factory=list)  # globs
    exclude_paths: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    include_deprecated: bool = True
    credentials: dict[str, str] = field(default_factory=dict)  # scheme name -> vault credential name
    credential_prefix: str | None = None
    output_schema: bool = True
    max_input_depth: int = 12
    max_output_depth: int = 2
    timeout: float | None = None
    # auth for operations whose spec declares no security: {type, credential, in, name}
    auth: dict[str, Any] | None = None


def selected(o: OpenAPIOptions, path: str, method: str, op: dict[str, Any]) -> bool:
    """Whether an operation passes the tag, path glob, method and deprecation filters."""
    tags = [str(t) for t in op.get("tags") or []]
    if o.methods and method.lower() not in {m.lower() for m in o.methods}:
        return False
    if o.include_tags and not set(tags) & set(o.include_tags):
        return False
    if o.exclude_tags and set(tags) & set(o.exclude_tags):
        return False
    if o.include_paths and not any(fnmatch.fnmatchcase(path, g) for g in o.include_paths):
        return False
    if o.exclude_paths and any(fnmatch.fnmatchcase(path, g) for g in o.exclude_paths):
        return False
    return not (op.get("deprecated") and not o.include_deprecated)


def description(op: dict[str, Any], method: str, path: str, note: str | None) -> str:
    parts = []
    summary = str(op.get("summary") or "").strip()
    desc = str(op.get("description") or "").strip()
    if summary:
        parts.append(summary if summary.endswith(".") else summary + ".")
    if desc and desc != summary:
        parts.append(desc)
    if not parts:
        parts.append(f"{method.upper()} {path}")
    if op.get("deprecated"):
        parts.insert(0, "(Deprecated)")
    if note:
        parts.append(note)
    text = " ".join(parts) if len(parts) < 3 else "\n\n".join(parts)
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3] + "..."


def pick_media(content: dict[str, Any]) -> str:
    medias = list(content)
    for test in (
        lambda m: m.split(";")[0].strip().lower() == "application/json",
        lambda m: m.split(";")[0].strip().lower().endswith("+json"),
        lambda m: m.startswith("application/x-www-form-urlencoded"),
        lambda m: m.startswith("multipart/form-data"),
        lambda m: m.startswith("text/"),
    ):
        for media in medias:
            if test(media):
                return media
    return medias[0]


def annotations(method: str, op: dict[str, Any]) -> dict[str, Any]:
    safe = method in SAFE_METHODS
    ann: dict[str, Any] = {"readOnlyHint": safe, "openWorldHint": True}
    if not safe:
        ann["destructiveHint"] = method == "delete"
        ann["idempotentHint"] = method in ("put", "delete")
    summary = op.get("summary")
    if isinstance(summary, str) and summary.strip():
        ann["title"] = summary.strip()[:200]
    return ann
