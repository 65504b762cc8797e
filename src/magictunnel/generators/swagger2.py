"""Swagger 2.0 -> OpenAPI 3.0 (the parts tool generation needs).

`definitions`, `parameters`, `responses` and `securityDefinitions` move under `components`
(and every `$ref` to them is rewritten); `host`/`basePath`/`schemes` become `servers`; `body`
and `formData` parameters become a `requestBody`; response `schema`s get a JSON media type.
"""

from __future__ import annotations

import copy
from typing import Any

_REF_MOVES = (
    ("#/definitions/", "#/components/schemas/"),
    ("#/parameters/", "#/components/parameters/"),
    ("#/responses/", "#/components/responses/"),
)
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                for old, new in _REF_MOVES:
                    if old in value:
                        value = value.replace(old, new, 1)
                        break
                out[key] = value
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def _param_schema(param: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "type",
        "format",
        "items",
        "enum",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
    )
    return {k: param[k] for k in keys if k in param}


def _convert_security(defn: dict[str, Any]) -> dict[str, Any]:
    kind = defn.get("type")
    if kind == "basic":
        return {"type": "http", "scheme": "basic", "description": defn.get("description", "")}
    if kind == "apiKey":
        return {"type": "apiKey", "name": defn.get("name"), "in": defn.get("in")}
    if kind == "oauth2":
        flow = {
            "implicit": "implicit",
            "password": "password",
            "application": "clientCredentials",
            "accessCode": "authorizationCode",
        }.get(defn.get("flow", ""), "clientCredentials")
        body = {
            k: v
            for k, v in (
                ("authorizationUrl", defn.get("authorizationUrl")),
                ("tokenUrl", defn.get("tokenUrl")),
                ("scopes", defn.get("scopes") or {}),
            )
            if v is not None
        }
        return {"type": "oauth2", "flows": {flow: body}}
    return dict(defn)


def convert(spec: dict[str, Any]) -> dict[str, Any]:
    src = _rewrite_refs(copy.deepcopy(spec))
    host = src.get("host")
    base_path = src.get("basePath", "") or ""
    schemes = src.get("schemes") or ["https"]
    servers = (
        [{"url": f"{scheme}://{host}{base_path}"} for scheme in schemes]
        if host
        else ([{"url": base_path}] if base_path else [])
    )
    global_consumes = src.get("consumes") or ["application/json"]
    global_produces = src.get("produces") or ["application/json"]
    params_store = src.get("parameters") or {}
    out: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": src.get("info") or {"title": "API", "version": "0"},
        "servers": servers,
        "paths": {},
        "components": {
            "schemas": src.get("definitions") or {},
            "parameters": {
                k: v
                for k, v in params_store.items()
                if isinstance(v, dict) and v.get("in") not in ("body", "formData")
            },
            "responses": {
                k: _convert_response(v, global_produces) for k, v in (src.get("responses") or {}).items()
            },
            "securitySchemes": {
                k: _convert_security(v)
                for k, v in (src.get("securityDefinitions") or {}).items()
                if isinstance(v, dict)
            },
        },
    }
    if "security" in src:
        out["security"] = src["security"]
    if "tags" in src:
        out["tags"] = src["tags"]
    for path, item in (src.get("paths") or {}).items():
        if not isinstance(item, dict):
            out["paths"][path] = item
            continue
        new_item: dict[str, Any] = {}
        shared = item.get("parameters") or []
        for key, value in item.items():
            if key in _METHODS and isinstance(value, dict):
                new_item[key] = _convert_operation(
                    value, shared, params_store, global_consumes, global_produces
                )
            elif key != "parameters":
                new_item[key] = value
        out["paths"][path] = new_item
    return out


def _deref_param(param: Any, store: dict[str, Any]) -> Any:
    if isinstance(param, dict) and isinstance(param.get("$ref"), str):
        name = param["$ref"].rsplit("/", 1)[-1]
        target = store.get(name)
        if isinstance(target, dict) and target.get("in") in ("body", "formData"):
            return target
    return param


def _convert_operation(
    op: dict[str, Any], shared: list[Any], store: dict[str, Any], consumes: list[str], produces: list[str]
) -> dict[str, Any]:
    new = {k: v for k, v in op.items() if k not in ("parameters", "responses", "consumes", "produces")}
    consumes = op.get("consumes") or consumes
    produces = op.get("produces") or produces
    params: list[Any] = []
    body_schema: dict[str, Any] | None = None
    body_required = False
    form_props: dict[str, Any] = {}
    form_required: list[str] = []
    by_key: dict[tuple[str, str], Any] = {}
    for raw in [*shared, *(op.get("parameters") or [])]:
        param = _deref_param(raw, store)
        if isinstance(param, dict) and "name" in param and "in" in param:
            by_key[(param["in"], param["name"])] = param
        else:
            by_key[(str(id(raw)), "")] = param
    for param in by_key.values():
        if not isinstance(param, dict) or "$ref" in param:
            params.append(param)
            continue
        where = param.get("in")
        if where == "body":
            body_schema = param.get("schema") or {}
            if param.get("description") and isinstance(body_schema, dict) and "$ref" not in body_schema:
                body_schema = {**body_schema, "description": param["description"]}
            body_required = bool(param.get("required"))
        elif where == "formData":
            schema = _param_schema(param)
            if param.get("description"):
                schema["description"] = param["description"]
            form_props[param["name"]] = schema
            if param.get("required"):
                form_required.append(param["name"])
        else:
            new_param = {
                k: v for k, v in param.items() if k in ("name", "in", "description", "required", "deprecated")
            }
            new_param["schema"] = _param_schema(param)
            params.append(new_param)
    if params:
        new["parameters"] = params
    if body_schema is not None:
        types = [c for c in consumes if "json" in c] or consumes[:1] or ["application/json"]
        new["requestBody"] = {"required": body_required, "content": {types[0]: {"schema": body_schema}}}
    elif form_props:
        ctype = (
            "multipart/form-data"
            if "multipart/form-data" in consumes
            or any(s.get("format") == "binary" for s in form_props.values())
            else "application/x-www-form-urlencoded"
        )
        schema: dict[str, Any] = {"type": "object", "properties": form_props}
        if form_required:
            schema["required"] = form_required
        new["requestBody"] = {"required": bool(form_required), "content": {ctype: {"schema": schema}}}
    new["responses"] = {
        code: _convert_response(resp, produces) for code, resp in (op.get("responses") or {}).items()
    }
    return new


def _convert_response(resp: Any, produces: list[str]) -> Any:
    if not isinstance(resp, dict) or "$ref" in resp:
        return resp
    out = {k: v for k, v in resp.items() if k not in ("schema", "examples")}
    out.setdefault("description", "")
    if "schema" in resp:
        media = [p for p in produces if "json" in p] or ["application/json"]
        out["content"] = {media[0]: {"schema": resp["schema"]}}
    return out
