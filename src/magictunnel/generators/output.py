"""Write generated tools as a capability file; regenerate over an existing one; merge files.

The file is the legacy `tools:` format the registry loads (`catalog/capability_file.py`)
with a `metadata.generator` block recording where the tools came from and a fingerprint of
each generated description. On regeneration the generator owns `inputSchema`,
`outputSchema`, `routing`, `annotations`, `title`, `category`, `keywords` and the
description; everything else a person added or changed is kept: `hidden`, `enabled`,
`examples`, extra keys, a description that differs from what was last generated (a manual
override), and tools the generator did not write. Tools that disappeared from the spec are
removed unless `keep_removed` is set.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from magictunnel.generators.common import GenerationResult

try:
    _Dumper: Any = yaml.CSafeDumper
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Dumper, _Loader = yaml.SafeDumper, yaml.SafeLoader

OWNED = (
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "routing",
    "annotations",
    "category",
    "keywords",
)


def fingerprint(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:16]


@dataclass
class ChangeReport:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_edits: list[str] = field(default_factory=list)  # "tool: field"
    kept_manual_tools: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.__dict__.items()}

    def lines(self) -> list[str]:
        out = []
        for label, items in (
            ("added", self.added),
            ("changed", self.changed),
            ("removed", self.removed),
            ("kept manual edits", self.kept_edits),
            ("kept hand-written tools", self.kept_manual_tools),
        ):
            if items:
                shown = ", ".join(items[:20]) + (f" … (+{len(items) - 20})" if len(items) > 20 else "")
                out.append(f"{label} ({len(items)}): {shown}")
        out.append(f"unchanged: {len(self.unchanged)}")
        return out


class _CapabilityDumper(_Dumper):  # type: ignore[misc, valid-type]
    """Multi-line strings (descriptions) as `|` blocks, so people can edit them."""


def _str(dumper: Any, value: str) -> Any:
    if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_CapabilityDumper.add_representer(str, _str)


def dump_yaml(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_CapabilityDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100000,
        default_flow_style=False,
    )


def load_existing(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    return data if isinstance(data, dict) else None


def build_document(
    result: GenerationResult, existing: dict[str, Any] | None = None, keep_removed: bool = False
) -> tuple[dict[str, Any], ChangeReport]:
    """The capability document for `result`, merged over `existing` (a previous file)."""
    report = ChangeReport()
    old_meta = ((existing or {}).get("metadata") or {}).get("generator") or {}
    old_prints: dict[str, Any] = old_meta.get("fingerprints") or {}
    old_tools = {t.get("name"): t for t in (existing or {}).get("tools") or [] if isinstance(t, dict)}
    new_names = {t["name"] for t in result.tools}
    tools: list[dict[str, Any]] = []
    prints: dict[str, Any] = {}
    for tool in result.tools:
        name = tool["name"]
        generated = dict(tool)
        prints[name] = {
            "description": fingerprint(tool.get("description", "")),
            "content": fingerprint({k: tool.get(k) for k in OWNED}),
        }
        old = old_tools.get(name)
        if old is None:
            report.added.append(name)
            tools.append(generated)
            continue
        prev = old_prints.get(name) or {}
        if prev.get("content") == prints[name]["content"]:
            report.unchanged.append(name)
        else:
            report.changed.append(name)
        merged = dict(generated)
        old_desc = old.get("description")
        if old_desc is not None and prev and fingerprint(old_desc) != prev.get("description"):
            merged["description"] = old_desc
            report.kept_edits.append(f"{name}: description")
        for key, value in old.items():
            if key not in OWNED:
                merged[key] = value
                if key in ("hidden", "enabled", "examples"):
                    report.kept_edits.append(f"{name}: {key}")
        tools.append(merged)
    for name, old in old_tools.items():
        if name in new_names:
            continue
        if name not in old_prints:
            report.kept_manual_tools.append(str(name))
            tools.append(old)
        elif keep_removed:
            tools.append(old)
        else:
            report.removed.append(str(name))
    meta = dict((existing or {}).get("metadata") or {})
    meta.setdefault("name", result.metadata.get("title") or Path(result.source).stem)
    meta.setdefault("description", f"Tools generated from {result.kind} source {result.source}")
    meta["generator"] = {
        "kind": result.kind,
        "source": result.source,
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **{k: v for k, v in result.metadata.items() if v is not None and k != "title"},
        "fingerprints": prints,
    }
    doc: dict[str, Any] = {"metadata": meta}
    for key, value in (existing or {}).items():
        if key not in ("metadata", "tools"):
            doc[key] = value
    doc["tools"] = tools
    return doc, report


def write_result(
    result: GenerationResult, path: Path, keep_removed: bool = False
) -> tuple[ChangeReport, str]:
    existing = load_existing(path)
    doc, report = build_document(result, existing, keep_removed)
    text = dump_yaml(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return report, text


def merge_files(paths: list[Path], on_conflict: str = "error") -> tuple[dict[str, Any], list[str]]:
    """One capability document from several; `on_conflict`: error | first | last | prefix.

    Returns the document and problems (with `error`, a name conflict is a problem).
    """
    problems: list[str] = []
    tools: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    extras: dict[str, list[Any]] = {}
    sources = []
    for path in paths:
        try:
            data = load_existing(path)
        except (OSError, yaml.YAMLError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
            continue
        if data is None:
            problems.append(f"{path}: not a capability file (expected a mapping with `tools:`)")
            continue
        sources.append(str(path))
        for key in ("prompts", "resources"):
            if isinstance(data.get(key), list):
                extras.setdefault(key, []).extend(data[key])
        for idx, tool in enumerate(data.get("tools") or []):
            if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
                problems.append(f"{path}: tools[{idx}]: expected a tool with a name")
                continue
            name = tool["name"]
            if name not in index:
                index[name] = len(tools)
                tools.append(tool)
                continue
            if on_conflict == "first":
                continue
            if on_conflict == "last":
                tools[index[name]] = tool
            elif on_conflict == "prefix":
                new_name = f"{path.stem}_{name}"[:64]
                tools.append({**tool, "name": new_name})
                index[new_name] = len(tools) - 1
            else:
                problems.append(f"{path}: tools[{idx}]: name {name!r} already defined by an earlier file")
    doc: dict[str, Any] = {"metadata": {"name": "merged", "description": "Merged from " + ", ".join(sources)}}
    doc.update(extras)
    doc["tools"] = tools
    return doc, problems
