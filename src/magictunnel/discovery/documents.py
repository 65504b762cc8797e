"""What the index knows about one tool: its searchable fields, built from a ToolDef or a catalog entry."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from magictunnel.catalog.models import ToolDef
from magictunnel.discovery.text import split_identifiers

MAX_DESCRIPTION = 1200
# bump when fields(), dense_text() or name_text() change: persisted caches are keyed by it
INDEX_TEXT_VERSION = 4
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")


def lead_sentences(text: str, target: int = 100) -> str:
    """The opening sentences, about `target` characters: what a tool does, before the fine print."""
    out = ""
    for part in _SENTENCE_END.split(text.strip()):
        if len(out) >= target:
            break
        out = f"{out} {part}".strip() if part else out
    return out[: target * 2]


@dataclass(frozen=True)
class ToolDoc:
    #: unique key in the index: the gateway tool name, or "server/name" for catalog files
    key: str
    name: str
    server: str = ""
    description: str = ""
    params: tuple[str, ...] = ()
    param_text: str = ""
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    category: str = ""
    input_schema: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    #: content hash of everything the index reads (set by make_doc); keys the persistent caches
    digest: str = field(default="", compare=False)

    def fields(self, only: tuple[str, ...] | None = None) -> dict[str, str]:
        """Text per lexical field (field weights live in lexical.py), or only for the fields named."""
        makers = {
            "name": lambda: split_identifiers(self.name).replace("_", " ").replace("-", " "),
            "server": lambda: split_identifiers(self.server).replace("_", " ").replace("-", " "),
            "description": lambda: self.description[:MAX_DESCRIPTION],
            "summary": lambda: lead_sentences(self.description),
            "params": lambda: self.param_text,
            "keywords": lambda: " ".join((*self.keywords, self.category)),
            "examples": lambda: " ".join(self.examples),
        }
        return {f: make() for f, make in makers.items() if only is None or f in only}

    def name_text(self) -> str:
        return split_identifiers(self.name).replace("_", " ").replace("-", " ").lower()

    def dense_text(self) -> str:
        """The text embedded for the dense index: what the tool does, in words."""
        parts = [f"{self.name_text()} ({self.server})" if self.server else self.name_text()]
        if self.description:
            parts.append(lead_sentences(self.description))
        if self.keywords:
            parts.append(", ".join(self.keywords))
        if self.params:
            parts.append("parameters: " + ", ".join(split_identifiers(p).lower() for p in self.params[:12]))
        return ". ".join(parts)

    def example_texts(self) -> tuple[str, ...]:
        return self.examples[:8]

    def sentence_texts(self) -> tuple[str, ...]:
        """Up to four description sentences, each prefixed with the tool's name, embedded one by one."""
        parts = [p.strip() for p in _SENTENCE_END.split(self.description) if p and len(p.strip()) > 15]
        return tuple(f"{self.name_text()}: {p[:200]}" for p in parts[:4])

    def content_hash(self) -> str:
        payload = json.dumps(
            [
                INDEX_TEXT_VERSION,
                self.name,
                self.server,
                self.description,
                self.param_text,
                self.params,
                self.keywords,
                self.examples,
                self.category,
            ],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _schema_text(schema: dict[str, Any], depth: int = 0) -> tuple[list[str], list[str]]:
    """Parameter names and the words describing them (descriptions, enum values), recursively."""
    names: list[str] = []
    words: list[str] = []
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict) or depth > 3:
        return names, words
    for pname, pschema in props.items():
        names.append(str(pname))
        words.append(split_identifiers(str(pname)))
        if not isinstance(pschema, dict):
            continue
        desc = pschema.get("description")
        if isinstance(desc, str):
            words.append(desc[:200])
        for key in ("enum", "examples"):
            values = pschema.get(key)
            if isinstance(values, list):
                words.extend(str(v) for v in values[:30] if isinstance(v, str | int | float))
        items = pschema.get("items")
        if isinstance(items, dict):
            if isinstance(items.get("enum"), list):
                words.extend(str(v) for v in items["enum"][:30])
            _, sub_words = _schema_text(items, depth + 1)
            words.extend(sub_words)
        _, sub_words = _schema_text(pschema, depth + 1)
        words.extend(sub_words)
    return names, words


def make_doc(
    key: str,
    name: str,
    description: str,
    input_schema: dict[str, Any] | None,
    server: str = "",
    keywords: list[str] | tuple[str, ...] = (),
    examples: list[str] | tuple[str, ...] = (),
    category: str | None = None,
) -> ToolDoc:
    schema = input_schema if isinstance(input_schema, dict) else {}
    names, words = _schema_text(schema)
    doc = ToolDoc(
        key=key,
        name=name,
        server=server or "",
        description=(description or "").strip(),
        params=tuple(names),
        param_text=" ".join(words),
        keywords=tuple(str(k) for k in keywords),
        examples=tuple(str(e) for e in examples),
        category=category or "",
        input_schema=schema,
    )
    return replace(doc, digest=doc.content_hash())


def doc_from_tool(tool: ToolDef) -> ToolDoc:
    return make_doc(
        key=tool.name,
        name=tool.original_name or tool.name,
        description=tool.description,
        input_schema=tool.input_schema,
        server=tool.server or "",
        keywords=tool.keywords,
        examples=tool.examples,
        category=tool.category,
    )


def doc_from_catalog_entry(entry: dict[str, Any], where: str) -> ToolDoc:
    """One object of a catalog JSON file (`{"server", "name", "description", "inputSchema"}`)."""
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected an object, got {type(entry).__name__}")
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}.name: required, a non-empty string")
    server = entry.get("server", "")
    if not isinstance(server, str):
        raise ValueError(f"{where}.server: must be a string")
    description = entry.get("description") or ""
    if not isinstance(description, str):
        raise ValueError(f"{where}.description: must be a string")
    schema = entry.get("inputSchema", entry.get("input_schema", {})) or {}
    if not isinstance(schema, dict):
        raise ValueError(f"{where}.inputSchema: must be an object")
    keywords = entry.get("keywords") or []
    examples = entry.get("examples") or []
    return make_doc(
        f"{server}/{name}" if server else name,
        name,
        description,
        schema,
        server,
        keywords if isinstance(keywords, list) else [],
        examples if isinstance(examples, list) else [],
        entry.get("category"),
    )
