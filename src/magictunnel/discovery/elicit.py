"""Asking the user for missing parameters through MCP elicitation, when the client supports it."""

from __future__ import annotations

import logging
from typing import Any

from magictunnel.discovery.documents import ToolDoc
from magictunnel.discovery.params import Mapping, coerce, validate_mapping
from magictunnel.pipeline.context import CallContext

log = logging.getLogger("magictunnel.discovery")

_PRIMITIVES = ("string", "number", "integer", "boolean")


def _elicitation_property(schema: dict[str, Any]) -> dict[str, Any]:
    """Elicitation only takes flat primitive properties; anything else is asked for as a string."""
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    out["type"] = kind if kind in _PRIMITIVES else "string"
    for key in ("title", "description", "minimum", "maximum", "minLength", "maxLength", "format", "default"):
        if key in schema:
            out[key] = schema[key]
    if isinstance(schema.get("enum"), list) and out["type"] == "string":
        out["enum"] = [str(v) for v in schema["enum"]]
    if out.get("format") not in (None, "email", "uri", "date", "date-time"):
        out.pop("format")
    return out


def can_elicit(ctx: CallContext) -> bool:
    session = ctx.session
    return bool(
        session is not None
        and getattr(session, "can_send_request", False)
        and session.supports("elicitation")
    )


def wanted_names(mapping: Mapping) -> list[str]:
    """The properties to ask for: the missing ones, then the invalid ones, each once."""
    return list(dict.fromkeys(mapping.missing + [p.split(":", 1)[0] for p in mapping.invalid]))


def elicitation_params(doc: ToolDoc, mapping: Mapping) -> dict[str, Any]:
    """`elicitation/create` params (form mode) asking for what `mapping` lacks."""
    props: dict[str, Any] = doc.input_schema.get("properties") or {}
    wanted = wanted_names(mapping)
    requested = {name: _elicitation_property(props.get(name) or {}) for name in wanted}
    return {
        "message": f"To run {doc.key} I need: {', '.join(wanted)}.",
        "requestedSchema": {"type": "object", "properties": requested, "required": wanted},
    }


def merge_reply(input_schema: dict[str, Any], mapping: Mapping, reply: Any) -> Mapping:
    """The mapping completed by an elicitation result: accepted values are coerced and validated;
    a decline, a cancel or a malformed reply leaves it incomplete, marked `_elicitation: declined`."""
    props: dict[str, Any] = input_schema.get("properties") or {}
    wanted = wanted_names(mapping)
    action = reply.get("action") if isinstance(reply, dict) else None
    merged = Mapping(arguments=dict(mapping.arguments), sources=dict(mapping.sources))
    if action != "accept":
        merged.missing = list(mapping.missing)
        merged.invalid = list(mapping.invalid)
        merged.sources["_elicitation"] = "declined"
        return merged
    content = reply.get("content") or {}
    if not isinstance(content, dict):
        content = {}
    for name in wanted:
        if name not in content:
            continue
        value = content[name]
        pschema = props.get(name) or {}
        if isinstance(value, str) and pschema.get("type") not in (None, "string"):
            value = coerce(value, pschema)
        if value is not None:
            merged.arguments[name] = value
            merged.sources[name] = "asked the user"
    required = [r for r in input_schema.get("required") or [] if isinstance(r, str)]
    validate_mapping(merged, input_schema, props, required)
    return merged


async def ask_for_missing(
    doc: ToolDoc, mapping: Mapping, ctx: CallContext, enabled: bool = True, timeout: float = 300.0
) -> Mapping | None:
    """Ask for what is missing; None when the client cannot be asked (the caller reports instead)."""
    if not enabled or not can_elicit(ctx):
        return None
    try:
        reply = await ctx.session.request(
            "elicitation/create", elicitation_params(doc, mapping), timeout=timeout
        )
    except Exception as exc:  # the client failed or timed out: report what is missing instead
        log.info("elicitation for %s failed: %s", doc.key, exc)
        return None
    return merge_reply(doc.input_schema, mapping, reply)
