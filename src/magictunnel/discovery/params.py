"""Rule-based parameter mapping: request text -> arguments for a tool's input schema.

Literal values found in the request (URLs, emails, paths, file names, quoted strings, dates,
numbers, key=value pairs, enum values) are assigned to the schema's properties by name, type,
format and description; the result is validated against the schema, and whatever required
property could not be filled is reported by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jsonschema

from magictunnel.discovery.spans import Span, find_spans
from magictunnel.discovery.text import split_identifiers

_HINTS: dict[str, tuple[str, ...]] = {
    "url": ("url", "uri", "link", "href", "endpoint", "website", "webpage", "site"),
    "email": ("email", "mail", "recipient", "sender"),
    "path": (
        "path",
        "file",
        "filename",
        "filepath",
        "dir",
        "directory",
        "folder",
        "document",
        "source",
        "destination",
        "target",
    ),
    "date": (
        "date",
        "day",
        "time",
        "datetime",
        "timestamp",
        "since",
        "until",
        "start",
        "end",
        "from",
        "to",
        "when",
    ),
    "host": ("domain", "hostname", "host", "ip", "fqdn"),
    "currency": ("currency", "currencies"),
    "text": (
        "query",
        "q",
        "search",
        "keyword",
        "keywords",
        "text",
        "term",
        "terms",
        "prompt",
        "message",
        "content",
        "question",
        "topic",
        "input",
        "expression",
        "name",
        "title",
        "selector",
        "value",
    ),
}


_SYMBOL_WORDS = {"symbol", "ticker", "stock", "coin"}
_NAME_WORDS = {
    "city",
    "location",
    "place",
    "country",
    "region",
    "town",
    "destination",
    "origin",
    "person",
    "name",
    "company",
    "station",
    "address",
    "area",
}
_TICKER = re.compile(r"(?<![\w$])\$?([A-Z]{1,5}(?:[.-][A-Z]{1,2})?)(?![\w])")
_PROPER = re.compile(
    r"\b(?:in|for|at|near|to|from|about|of|around)\s+((?:[A-Z][\w'.-]*)(?:\s+(?:[A-Z][\w'.-]*|de|del|la|le|am))*)"
)
STOP_CAPS = {"I", "A", "AN", "THE", "OK", "US", "UK", "EU"}


@dataclass
class Mapping:
    arguments: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)  # property -> how it was found

    @property
    def complete(self) -> bool:
        return not self.missing and not self.invalid


@lru_cache(maxsize=65_536)
def _words(name: str) -> frozenset[str]:
    """The words of a parameter name or title (cached: catalogs repeat the same few names)."""
    return frozenset(w.lower() for w in re.split(r"[\s_\-.]+", split_identifiers(name)) if w)


def _kind_of(prop: str, schema: dict[str, Any]) -> str:
    fmt = str(schema.get("format", "")).lower()
    if fmt in ("uri", "url", "iri"):
        return "url"
    if fmt == "email":
        return "email"
    if fmt in ("date", "date-time", "time"):
        return "date"
    words = _words(prop) | _words(str(schema.get("title", "")))
    for kind in ("url", "email", "currency", "path", "date", "host"):
        if words & set(_HINTS[kind]):
            if kind == "host" and ("enum" in schema or _json_type(schema) != "string"):
                continue  # e.g. a "domain" chosen from a list of subject areas
            return kind
    return "text"


def _when(prop: str, schema: dict[str, Any], take: Any) -> Span | None:
    """A date, a time of day, or both as an ISO date-time, by what the parameter asks for."""
    words = _words(prop) | _words(str(schema.get("title", "")))
    fmt = str(schema.get("format", "")).lower()
    if fmt == "date-time" or words & {"datetime", "timestamp"}:
        day = take(lambda s: s.kind == "date")
        clock = take(lambda s: s.kind == "time")
        if day is not None and clock is not None:
            return Span(
                "date", f"{day.text} {clock.text}", f"{day.value}T{clock.value}:00", day.start, clock.end
            )
        return day or clock
    if fmt == "time" or (words & {"time", "hour", "clock"} and "date" not in words):
        return take(lambda s: s.kind == "time") or take(lambda s: s.kind == "date")
    return take(lambda s: s.kind == "date")


def _json_type(schema: dict[str, Any]) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if not t and "enum" in schema and schema["enum"]:
        value = schema["enum"][0]
        return "number" if isinstance(value, int | float) and not isinstance(value, bool) else "string"
    return str(t or "string")


def _to_number(text: str, integer: bool) -> int | float | None:
    cleaned = text.replace(",", "").rstrip("%")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if integer:
        return int(value) if value.is_integer() else None
    return int(value) if value.is_integer() and "." not in cleaned else value


def coerce(value: str, schema: dict[str, Any]) -> Any:
    kind = _json_type(schema)
    if kind in ("number", "integer"):
        return _to_number(value, kind == "integer")
    if kind == "boolean":
        low = value.strip().lower()
        if low in ("true", "yes", "on", "1"):
            return True
        if low in ("false", "no", "off", "0"):
            return False
        return None
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        parts = [p.strip() for p in re.split(r"[,;]", value) if p.strip()]
        coerced = [coerce(p, items) for p in parts]
        return coerced if all(c is not None for c in coerced) else None
    if kind == "object":
        return None
    return value


def _enum_match(text: str, values: list[Any]) -> Any:
    low = text.lower()
    best = None
    for value in values:
        if not isinstance(value, str) or not value:
            continue
        pattern = r"(?<![\w])" + re.escape(value.lower()) + r"(?![\w])"
        if re.search(pattern, low) and (best is None or len(value) > len(best)):
            best = value
    return best


def map_parameters(
    request: str, schema: dict[str, Any], context: str | None = None, given: dict[str, Any] | None = None
) -> Mapping:
    text = request if not context else f"{request}\n{context}"
    props: dict[str, Any] = schema.get("properties") or {} if isinstance(schema, dict) else {}
    required: list[str] = [r for r in (schema.get("required") or []) if isinstance(r, str)]
    spans = find_spans(text)
    used: set[int] = set()
    out = Mapping()
    for key, value in (given or {}).items():
        if key in props:
            out.arguments[key] = value
            out.sources[key] = "given"

    def take(pred: Any) -> Span | None:
        for i, span in enumerate(spans):
            if i not in used and pred(span):
                used.add(i)
                return span
        return None

    order = [p for p in required if p in props] + [p for p in props if p not in required]
    # 1. explicit key=value pairs win
    for prop in order:
        if prop in out.arguments:
            continue
        pschema = props[prop] if isinstance(props[prop], dict) else {}
        norm = prop.lower().replace("-", "_")
        span = take(lambda s, n=norm: s.kind == "kv" and (s.key or "").lower().replace("-", "_") == n)
        if span is not None:
            value = coerce(span.value, pschema)
            if value is not None:
                out.arguments[prop] = value
                out.sources[prop] = f"{prop}= in the request"
    # 2. enum values mentioned in the text
    for prop in order:
        pschema = props[prop] if isinstance(props[prop], dict) else {}
        items = pschema.get("items")
        values = pschema.get("enum") or (items.get("enum") if isinstance(items, dict) else None)
        if prop in out.arguments or not values:
            continue
        match = _enum_match(text, list(values))
        if match is not None:
            out.arguments[prop] = [match] if _json_type(pschema) == "array" else match
            out.sources[prop] = f"enum value {match!r} in the request"
    # 3. typed literals by kind
    for prop in order:
        if prop in out.arguments:
            continue
        pschema = props[prop] if isinstance(props[prop], dict) else {}
        jtype = _json_type(pschema)
        kind = _kind_of(prop, pschema)
        span: Span | None = None
        if jtype in ("number", "integer"):
            integer = jtype == "integer"
            span = take(lambda s, i=integer: s.kind == "number" and _to_number(s.value, i) is not None)
        elif jtype == "boolean":
            continue
        elif kind == "url":
            span = take(lambda s: s.kind == "url")
            if span is None and (host := take(lambda s: s.kind == "domain")) is not None:
                span = Span("url", host.text, f"https://{host.value}", host.start, host.end)
        elif kind == "currency":
            span = take(lambda s: s.kind == "currency")
        elif kind == "host":
            span = take(lambda s: s.kind in ("domain", "ip"))
            if span is None and (link := take(lambda s: s.kind == "url")) is not None:
                name = urlsplit(link.value).hostname
                span = Span("domain", link.text, name, link.start, link.end) if name else None
        elif kind == "email":
            span = take(lambda s: s.kind == "email")
        elif kind == "path":
            span = take(lambda s: s.kind in ("path", "filename")) or take(lambda s: s.kind == "quoted")
        elif kind == "date":
            span = _when(prop, pschema, take)
        elif jtype in ("string", "array"):
            span = take(lambda s: s.kind == "quoted")
        if span is not None:
            value = coerce(span.value, pschema)
            if value is not None:
                out.arguments[prop] = value
                out.sources[prop] = f"{span.kind} {span.text!r}"
    # 3b. names: a ticker-like word for symbol parameters, a capitalised phrase after a preposition
    #     ("in Paris", "for New York") for other name-like ones (city, location, person, ...)
    for prop in order:
        if prop in out.arguments:
            continue
        pschema = props[prop] if isinstance(props[prop], dict) else {}
        if _json_type(pschema) != "string" or "enum" in pschema or _kind_of(prop, pschema) != "text":
            continue
        words = _words(prop)
        pattern = _TICKER if words & _SYMBOL_WORDS else _PROPER if words & _NAME_WORDS else None
        if pattern is None:
            continue
        match = next((m for m in pattern.finditer(text) if m.group(1) not in STOP_CAPS), None)
        if match is not None:
            out.arguments[prop] = match.group(1)
            out.sources[prop] = f"name {match.group(1)!r}"
    # 4. a required free-text parameter (query, text, ...) takes the request itself
    for prop in order:
        if prop in out.arguments or prop not in required:
            continue
        pschema = props[prop] if isinstance(props[prop], dict) else {}
        if (
            _json_type(pschema) == "string"
            and "enum" not in pschema
            and _kind_of(prop, pschema) == "text"
            and not _words(prop) & (_SYMBOL_WORDS | _NAME_WORDS)
            and (_words(prop) & set(_HINTS["text"]) or len(props) == 1)
        ):
            out.arguments[prop] = request.strip()
            out.sources[prop] = "the request text"
            break
    validate_mapping(out, schema, props, required)
    return out


def validate_mapping(
    out: Mapping, schema: dict[str, Any], props: dict[str, Any], required: list[str]
) -> None:
    """Drop mapped values that break their property schema (keep and flag given ones); list what is missing."""
    for prop in list(out.arguments):
        pschema = props.get(prop)
        if not isinstance(pschema, dict):
            continue
        try:
            jsonschema.validate(out.arguments[prop], pschema)
        except jsonschema.ValidationError as exc:
            if out.sources.get(prop) == "given":
                out.invalid.append(f"{prop}: {exc.message}")
            else:
                del out.arguments[prop]
                out.sources.pop(prop, None)
        except jsonschema.SchemaError:
            continue
    out.missing = [r for r in required if r not in out.arguments]
