"""OpenAPI / Swagger schema objects -> self-contained JSON Schema (draft 2020-12).

`$ref`s are inlined (local and in other documents of the set); a reference back into a
schema that is already being expanded (a recursive schema) is cut to an open schema with a
note, so output is always finite. OpenAPI 3.0 dialect is translated: `nullable` becomes a
`null` type, boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers, `example` becomes
`examples`; `allOf`/`oneOf`/`anyOf`, enums, defaults and formats are kept. For inputs,
`readOnly` properties are dropped; for outputs, `writeOnly` ones. Nesting deeper than
`max_depth` object/array levels is summarised as `{type: ...}` with a note.
"""

from __future__ import annotations

from typing import Any

from magictunnel.generators.common import SpecError
from magictunnel.generators.spec_loader import DocumentSet

# keywords copied as they are (values are not schemas)
_PLAIN = {
    "type",
    "format",
    "enum",
    "const",
    "default",
    "title",
    "description",
    "deprecated",
    "minimum",
    "maximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "required",
    "readOnly",
    "writeOnly",
    "examples",
    "contentMediaType",
    "contentEncoding",
    "$comment",
}
# keywords whose value is one schema
_ONE = {
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
    "additionalItems",
}
# keywords whose value is a list of schemas
_MANY = {"allOf", "oneOf", "anyOf", "prefixItems"}
# keywords whose value is a mapping of name -> schema
_MAP = {"properties", "patternProperties", "dependentSchemas"}
_JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}


class _Cut(Exception):
    pass


class SchemaConverter:
    def __init__(self, docs: DocumentSet, openapi_30: bool = True, cut_note: bool = True) -> None:
        self.docs = docs
        self.openapi_30 = openapi_30
        self._memo: dict[tuple[str, str, str, int], Any] = {}
        self.cycles: set[str] = set()

    def convert(
        self, schema: Any, base_uri: str | None = None, mode: str = "input", max_depth: int = 12
    ) -> Any:
        """A self-contained JSON Schema for `schema` (found in the document at base_uri)."""
        flag = [False]
        return self._conv(schema, base_uri or self.docs.root_uri, mode, max_depth, (), flag, "")

    # the walk ----------------------------------------------------------------------------
    def _conv(
        self, node: Any, uri: str, mode: str, depth: int, stack: tuple[str, ...], cut: list[bool], where: str
    ) -> Any:
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            raise SpecError(where, f"expected a schema object, got {type(node).__name__}")
        ref = node.get("$ref")
        if isinstance(ref, str):
            target_uri, pointer = self.docs.split_ref(ref, uri)
            key = f"{target_uri}#{pointer}"
            name = pointer.rsplit("/", 1)[-1] or ref
            if key in stack:
                cut[0] = True
                self.cycles.add(name)
                return {"description": f"Recursive reference to {name} (not expanded further)"}
            memo_key = (key, mode, "", depth)
            if memo_key in self._memo:
                result = self._memo[memo_key]
            else:
                try:
                    target, doc_uri = self.docs.resolve(ref, uri)
                except SpecError as exc:
                    raise SpecError(where, exc.message) from None
                inner_cut = [False]
                result = self._conv(target, doc_uri, mode, depth, (*stack, key), inner_cut, where)
                if inner_cut[0]:
                    cut[0] = True
                else:
                    self._memo[memo_key] = result
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            if siblings and not all(k.startswith("x-") for k in siblings):
                extra = self._conv(siblings, uri, mode, depth, stack, cut, where)
                if isinstance(result, dict) and set(extra) <= {
                    "description",
                    "title",
                    "default",
                    "deprecated",
                    "examples",
                    "readOnly",
                    "writeOnly",
                    "nullable",
                }:
                    merged = dict(result)
                    merged.update(extra)
                    return merged
                return {"allOf": [result, extra]}
            return result
        return self._conv_object(node, uri, mode, depth, stack, cut, where)

    def _conv_object(
        self,
        node: dict[str, Any],
        uri: str,
        mode: str,
        depth: int,
        stack: tuple[str, ...],
        cut: list[bool],
        where: str,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        kind = node.get("type")
        if kind == "file":  # Swagger 2.0 upload
            return {
                "type": "string",
                "format": "binary",
                "contentEncoding": "base64",
                "description": (node.get("description") or "File content") + " (base64)",
            }
        nests = kind in ("object", "array") or "properties" in node or "items" in node
        if nests and depth <= 0:
            summary: dict[str, Any] = {"type": kind if isinstance(kind, str) else "object"}
            text = node.get("description") or node.get("title")
            summary["description"] = f"{text} (nested detail omitted)" if text else "(nested detail omitted)"
            return summary
        next_depth = depth - 1 if nests else depth
        for key, value in node.items():
            if key.startswith("x-") or key in (
                "xml",
                "externalDocs",
                "discriminator",
                "nullable",
                "example",
                "$schema",
                "$id",
                "id",
            ):
                continue
            if key in _PLAIN:
                if key == "type" and isinstance(value, str) and value not in _JSON_TYPES:
                    continue
                if key == "required" and not isinstance(value, list):
                    continue  # a 3.0 property's `required: true` is not JSON Schema
                out[key] = value
            elif key in ("exclusiveMinimum", "exclusiveMaximum"):
                if isinstance(value, bool):
                    bound = "minimum" if key == "exclusiveMinimum" else "maximum"
                    if value and bound in node:
                        out[key] = node[bound]
                        out.pop(bound, None)
                else:
                    out[key] = value
            elif key in _ONE:
                out[key] = self._conv(value, uri, mode, next_depth, stack, cut, f"{where}.{key}")
            elif key in _MANY and isinstance(value, list):
                out[key] = [
                    self._conv(
                        v,
                        uri,
                        mode,
                        next_depth if key == "prefixItems" else depth,
                        stack,
                        cut,
                        f"{where}.{key}[{i}]",
                    )
                    for i, v in enumerate(value)
                ]
            elif key in _MAP and isinstance(value, dict):
                props = {}
                for name, sub in value.items():
                    if key == "properties" and isinstance(sub, dict) and self._hidden(sub, uri, mode):
                        continue
                    props[name] = self._conv(sub, uri, mode, next_depth, stack, cut, f"{where}.{key}.{name}")
                out[key] = props
        if "minimum" in out and out.get("exclusiveMinimum") == out["minimum"]:
            out.pop("minimum")
        if isinstance(out.get("required"), list) and isinstance(out.get("properties"), dict):
            req = [r for r in out["required"] if r in out["properties"]]
            if req:
                out["required"] = list(dict.fromkeys(req))
            else:
                out.pop("required")
        if "example" in node and "examples" not in out:
            out["examples"] = [node["example"]]
        if self.openapi_30 and node.get("nullable") is True:
            out = _nullable(out)
        return out

    def _hidden(self, sub: dict[str, Any], uri: str, mode: str) -> bool:
        flag = "readOnly" if mode == "input" else "writeOnly" if mode == "output" else None
        if flag is None:
            return False
        if sub.get(flag) is True:
            return True
        ref = sub.get("$ref")
        if isinstance(ref, str):
            try:
                target, _ = self.docs.resolve(ref, uri)
            except SpecError:
                return False
            return isinstance(target, dict) and target.get(flag) is True
        return False


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    elif kind is None:
        return {"anyOf": [schema, {"type": "null"}]}
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema
