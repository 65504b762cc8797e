"""GraphQL schema (SDL or an introspection result) -> one `graphql` tool per query/mutation field.

Arguments map to JSON Schema (scalars, enums, input objects, lists; non-null arguments are
`required`; input-object cycles are cut). Each tool carries a complete operation document
with a generated selection set: scalar and enum fields of the result type, nested object
fields down to `depth` levels, a type never re-entered within its own selection (cycles cut),
fields that need arguments skipped, unions and interfaces selected through `__typename` and
inline fragments. Routing targets the `graphql` backend (`backends/graphql.py`)::

    routing:
      type: graphql
      config:
        endpoint: https://api.example.com/graphql
        query: "query user($id: ID!) { user(id: $id) { id name } }"
        operation_name: user
        data_path: user          # the result is the field's value
        auth: {type: bearer, credential: example.token}   # optional, a vault credential name

The tool's arguments are the operation's variables, as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_client_schema,
    build_schema,
    get_introspection_query,
    value_from_ast,
)
from graphql.error import GraphQLError
from graphql.pyutils import Undefined

from magictunnel.generators.common import GenerationResult, SpecError, apply_naming, unique
from magictunnel.generators.spec_loader import fetch, parse_text

SCALARS = {
    "Int": {"type": "integer"},
    "Float": {"type": "number"},
    "String": {"type": "string"},
    "Boolean": {"type": "boolean"},
    "ID": {"type": "string", "description": "ID"},
}


@dataclass
class GraphQLOptions:
    endpoint: str = ""
    depth: int = 2
    naming: str = "keep"
    prefix: str = ""
    include_mutations: bool = True
    include_queries: bool = True
    fields: list[str] | None = None  # only these root fields
    auth: dict[str, Any] | None = None  # {type, credential, in, name}: a vault credential name
    headers: dict[str, str] | None = None  # written into every tool's routing (no secrets: use auth)
    # sent only with the introspection request (may carry a token; never written to the file)
    introspection_headers: dict[str, str] | None = None
    timeout: float | None = None


def load_schema(
    location: str, introspect: bool = False, headers: dict[str, str] | None = None
) -> GraphQLSchema:
    """A schema from an SDL file, an introspection JSON file/URL, or (introspect=True) a live endpoint."""
    if introspect:
        import httpx

        try:
            response = httpx.post(
                location,
                json={"query": get_introspection_query(descriptions=True)},
                headers=headers,
                timeout=30,
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise SpecError(location, f"introspection failed: {type(exc).__name__}: {exc}") from None
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise SpecError(location, f"introspection failed: {str(body)[:300]}")
        return _from_introspection(body, location)
    raw = fetch(location).decode("utf-8-sig")
    stripped = raw.lstrip()
    if stripped.startswith("{"):  # SDL never starts with a brace: an introspection result
        return _from_introspection(parse_text(raw, location), location)
    try:
        return build_schema(raw)
    except GraphQLError as exc:
        loc = exc.locations[0] if exc.locations else None
        where = f"{location}:{loc.line}:{loc.column}" if loc else location
        raise SpecError(where, f"invalid GraphQL SDL: {exc.message}") from None


def _from_introspection(data: Any, location: str) -> GraphQLSchema:
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        data = data["data"]
    if not isinstance(data, dict) or "__schema" not in data:
        raise SpecError(location, "not an introspection result (expected `__schema` or `data.__schema`)")
    try:
        return build_client_schema(data)
    except (GraphQLError, TypeError, KeyError) as exc:
        raise SpecError(location, f"invalid introspection result: {exc}") from None


def generate_graphql(
    location: str, options: GraphQLOptions, introspect: bool = False, schema: GraphQLSchema | None = None
) -> GenerationResult:
    result = GenerationResult(kind="graphql", source=location)
    if not options.endpoint:
        if introspect:
            options.endpoint = location
        else:
            result.problems.append("endpoint: required, the URL the generated tools call")
            return result
    try:
        schema = schema or load_schema(location, introspect, options.introspection_headers)
    except SpecError as exc:
        result.problems.append(str(exc))
        return result
    taken: set[str] = set()
    roots = []
    if options.include_queries and schema.query_type:
        roots.append(("query", schema.query_type))
    if options.include_mutations and schema.mutation_type:
        roots.append(("mutation", schema.mutation_type))
    for kind, root in roots:
        for field_name, field in root.fields.items():
            if options.fields and field_name not in options.fields:
                result.skipped.append(f"{kind}.{field_name}")
                continue
            try:
                result.tools.append(_tool(kind, field_name, field, options, taken, result))
            except SpecError as exc:
                result.problems.append(str(exc))
    return result


def _tool(
    kind: str,
    field_name: str,
    field: GraphQLField,
    options: GraphQLOptions,
    taken: set[str],
    result: GenerationResult,
) -> dict[str, Any]:
    name = unique(apply_naming(field_name, options.naming, options.prefix), taken)
    properties: dict[str, Any] = {}
    required: list[str] = []
    var_defs = []
    call_args = []
    for arg_name, arg in field.args.items():
        schema = input_schema(arg.type, ())
        if arg.description:
            schema = {**schema, "description": arg.description}
        default = default_of(arg)
        if default is not Undefined:
            schema = {**schema, "default": default}
        properties[arg_name] = schema
        if isinstance(arg.type, GraphQLNonNull) and default is Undefined:
            required.append(arg_name)
        var_defs.append(f"${arg_name}: {arg.type}")
        call_args.append(f"{arg_name}: ${arg_name}")
    selection = selection_set(field.type, options.depth, ())
    op_name = name.replace(".", "_").replace("-", "_")
    document = (
        f"{kind} {op_name}{'(' + ', '.join(var_defs) + ')' if var_defs else ''} "
        f"{{ {field_name}{'(' + ', '.join(call_args) + ')' if call_args else ''}{selection} }}"
    )
    config: dict[str, Any] = {
        "endpoint": options.endpoint,
        "query": document,
        "operation_name": op_name,
        "data_path": field_name,
    }
    if options.headers:
        config["headers"] = dict(options.headers)
    if options.auth:
        config["auth"] = dict(options.auth)
    if options.timeout:
        config["timeout"] = options.timeout
    tool: dict[str, Any] = {
        "name": name,
        "description": field.description or f"GraphQL {kind} `{field_name}` returning {field.type}.",
        "inputSchema": {
            "type": "object",
            "properties": properties,
            **({"required": required} if required else {}),
        },
    }
    out = output_schema(field.type, options.depth, ())
    if isinstance(out, dict) and out.get("type") == "object":
        tool["outputSchema"] = out
    tool["routing"] = {"type": "graphql", "config": config}
    tool["annotations"] = {
        "readOnlyHint": kind == "query",
        "openWorldHint": True,
        **({"destructiveHint": False} if kind == "mutation" else {}),
    }
    if field.deprecation_reason:
        tool["description"] = f"(Deprecated: {field.deprecation_reason}) {tool['description']}"
    tool["keywords"] = [kind]
    return tool


def default_of(arg: Any) -> Any:
    """An argument's or input field's default as a JSON value, or Undefined (graphql-core 3.2 and 3.3)."""
    value = getattr(arg, "default_value", Undefined)
    if value is Undefined:
        default = getattr(arg, "default", None)
        if default is not None:
            value = getattr(default, "value", Undefined)
            literal = getattr(default, "literal", None)
            if value is Undefined and literal is not None:
                value = value_from_ast(literal, arg.type)
    if value is Undefined or (value is None and getattr(arg, "default", None) is None):
        return Undefined
    return value if _jsonable(value) else Undefined


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _named(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def input_schema(type_: Any, stack: tuple[str, ...]) -> dict[str, Any]:
    if isinstance(type_, GraphQLNonNull):
        return input_schema(type_.of_type, stack)
    if isinstance(type_, GraphQLList):
        return {"type": "array", "items": input_schema(type_.of_type, stack)}
    if isinstance(type_, GraphQLEnumType):
        out: dict[str, Any] = {"type": "string", "enum": list(type_.values)}
        if type_.description:
            out["description"] = type_.description
        return out
    if isinstance(type_, GraphQLScalarType):
        if type_.name in SCALARS:
            return dict(SCALARS[type_.name])
        return {"description": f"{type_.name} (custom scalar)"}
    if isinstance(type_, GraphQLInputObjectType):
        if type_.name in stack:
            return {
                "type": "object",
                "description": f"Recursive reference to {type_.name} (not expanded further)",
            }
        props = {}
        required = []
        for fname, fdef in type_.fields.items():
            schema = input_schema(fdef.type, (*stack, type_.name))
            if fdef.description:
                schema = {**schema, "description": fdef.description}
            default = default_of(fdef)
            if default is not Undefined:
                schema = {**schema, "default": default}
            props[fname] = schema
            if isinstance(fdef.type, GraphQLNonNull) and default_of(fdef) is Undefined:
                required.append(fname)
        out = {"type": "object", "properties": props}
        if required:
            out["required"] = required
        if type_.description:
            out["description"] = type_.description
        return out
    return {}


def selection_set(type_: Any, depth: int, stack: tuple[str, ...]) -> str:
    named = _named(type_)
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return ""
    if isinstance(named, GraphQLUnionType):
        parts = ["__typename"]
        for member in named.types:
            inner = selection_set(member, depth - 1, (*stack, named.name)) if depth > 0 else ""
            if inner:
                parts.append(f"... on {member.name}{inner}")
        return " { " + " ".join(parts) + " }"
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        parts = []
        for fname, fdef in named.fields.items():
            if any(
                isinstance(a.type, GraphQLNonNull) and default_of(a) is Undefined for a in fdef.args.values()
            ):
                continue
            sub = _named(fdef.type)
            if isinstance(sub, GraphQLScalarType | GraphQLEnumType):
                parts.append(fname)
            elif depth > 0 and sub.name not in stack and sub.name != named.name:
                inner = selection_set(fdef.type, depth - 1, (*stack, named.name))
                if inner:
                    parts.append(f"{fname}{inner}")
        if not parts:
            parts.append("__typename")
        return " { " + " ".join(parts) + " }"
    return ""


def output_schema(type_: Any, depth: int, stack: tuple[str, ...]) -> dict[str, Any]:
    """JSON Schema for what the generated selection returns (same walk as `selection_set`)."""
    if isinstance(type_, GraphQLNonNull):
        return output_schema(type_.of_type, depth, stack)
    if isinstance(type_, GraphQLList):
        return {"type": "array", "items": output_schema(type_.of_type, depth, stack)}
    if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
        return input_schema(type_, stack)
    if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
        props: dict[str, Any] = {}
        for fname, fdef in type_.fields.items():
            if any(
                isinstance(a.type, GraphQLNonNull) and default_of(a) is Undefined for a in fdef.args.values()
            ):
                continue
            sub = _named(fdef.type)
            if isinstance(sub, GraphQLScalarType | GraphQLEnumType):
                props[fname] = output_schema(fdef.type, depth, stack)
            elif depth > 0 and sub.name not in stack and sub.name != type_.name:
                props[fname] = output_schema(fdef.type, depth - 1, (*stack, type_.name))
        return {"type": "object", "properties": props or {"__typename": {"type": "string"}}}
    if isinstance(type_, GraphQLUnionType):
        return {"type": "object", "properties": {"__typename": {"type": "string"}}}
    return {}
