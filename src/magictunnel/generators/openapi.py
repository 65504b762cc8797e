"""OpenAPI 3.0 / 3.1 (and Swagger 2.0, converted) -> one `http` tool per operation.

Each tool's `inputSchema` merges the operation's path, query, header and cookie parameters
(top-level arguments; names not usable as identifiers are renamed, the routing keeps the
wire name) and the request body (one `body` argument: a nested object for JSON, its fields
for form bodies). `$ref`s are resolved across the document set and inlined; recursive
schemas are cut (see `schema.py`). `outputSchema` comes from the 2xx JSON response when it is
an object. Routing targets the `http` backend (`backends/http.py`)::

    routing:
      type: http
      config:
        method: GET
        url: https://api.example.com/v2/pet/{petId}     # path params as placeholders
        query: {status: "{status}"}                     # wire name -> placeholder
        headers: {X-Request-ID: "{X_Request_ID}"}
        body: "{body}"            # or form: {field: "{body.field}"} / body_text + content_type
        arguments: none           # arguments not mapped above are not sent
        auth: {type: api_key, credential: petstore.api_key, in: header, name: api_key}

Security schemes map to credential *names* in the vault, never secrets: see
`openapi_security.py` for the contract. Problems are reported with their location
(`paths./pets/{id}.get.parameters[2]: unresolvable $ref ...`); a bad operation is skipped.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from magictunnel.generators import swagger2
from magictunnel.generators.common import (
    GenerationResult,
    SpecError,
    apply_naming,
    argument_name,
    unique,
)
from magictunnel.generators.openapi_parts import (
    OpenAPIOptions,
    annotations,
    description,
    pick_media,
    selected,
)
from magictunnel.generators.openapi_security import pick_auth, slug
from magictunnel.generators.schema import SchemaConverter
from magictunnel.generators.spec_loader import DocumentSet, is_url

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def generate_openapi(
    location: str, options: OpenAPIOptions | None = None, docs: DocumentSet | None = None
) -> GenerationResult:
    """Generate tools from the spec at `location` (a file path or URL)."""
    options = options or OpenAPIOptions()
    result = GenerationResult(kind="openapi", source=location)
    try:
        docs = docs or DocumentSet.load(location)
    except SpecError as exc:
        result.problems.append(str(exc))
        return result
    return _Generator(docs, options, result).run()


class _Generator:
    def __init__(self, docs: DocumentSet, options: OpenAPIOptions, result: GenerationResult) -> None:
        self.docs = docs
        self.options = options
        self.result = result

    def run(self) -> GenerationResult:
        spec = self.docs.root
        if not isinstance(spec, dict):
            self.result.problems.append(f"{self.docs.root_uri}: expected an OpenAPI document (a mapping)")
            return self.result
        version = str(spec.get("openapi") or spec.get("swagger") or "")
        if version.startswith("2"):
            spec = swagger2.convert(spec)
            self.docs.docs[self.docs.root_uri] = spec
            self.result.warnings.append("Swagger 2.0 document converted to OpenAPI 3.0")
        elif not version.startswith("3."):
            self.result.problems.append(
                f"openapi: missing or unsupported version {version!r} (expected 3.0.x, 3.1.x or swagger 2.0)"
            )
            return self.result
        self.spec = spec
        self.converter = SchemaConverter(self.docs, openapi_30=not version.startswith("3.1"))
        info = spec.get("info") if isinstance(spec.get("info"), dict) else {}
        self.cred_prefix = self.options.credential_prefix or slug(str(info.get("title") or "api"))
        self.result.metadata = {
            "title": info.get("title"),
            "version": info.get("version"),
            "openapi": version,
        }
        paths = spec.get("paths")
        if not isinstance(paths, dict):
            self.result.problems.append(
                "paths: missing or empty (the document has no operations; webhooks and callbacks are not turned into tools)"
            )
            return self.result
        taken: set[str] = set()
        for path, item in paths.items():
            where = f"paths.{path}"
            try:
                item = self._deref(item, where)
            except SpecError as exc:
                self.result.problems.append(str(exc))
                continue
            if not isinstance(item, dict):
                self.result.problems.append(f"{where}: expected a path item mapping")
                continue
            for method in METHODS:
                op = item.get(method)
                if op is None:
                    continue
                op_where = f"{where}.{method}"
                if not isinstance(op, dict):
                    self.result.problems.append(f"{op_where}: expected an operation mapping")
                    continue
                if not selected(self.options, path, method, op):
                    self.result.skipped.append(f"{method.upper()} {path}")
                    continue
                try:
                    tool = self._tool(path, method, item, op, op_where, taken)
                except SpecError as exc:
                    self.result.problems.append(str(exc))
                    continue
                self.result.tools.append(tool)
        if self.converter.cycles:
            self.result.warnings.append("recursive schemas cut: " + ", ".join(sorted(self.converter.cycles)))
        return self.result

    # ---- selection ---------------------------------------------------------------------------
    def _deref(self, node: Any, where: str) -> Any:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            try:
                node, _ = self.docs.resolve(node["$ref"], self.docs.root_uri)
            except SpecError as exc:
                raise SpecError(where, exc.message) from None
            seen += 1
            if seen > 32:
                raise SpecError(where, "$ref chain too long (a reference loop?)")
        return node

    def _schema(self, schema: Any, where: str, mode: str) -> Any:
        depth = self.options.max_input_depth if mode == "input" else self.options.max_output_depth
        try:
            return self.converter.convert(schema, mode=mode, max_depth=depth)
        except SpecError as exc:
            raise SpecError(where + exc.location, exc.message) from None

    def _base_url(self, item: dict[str, Any], op: dict[str, Any], where: str) -> str:
        if self.options.base_url:
            return self.options.base_url.rstrip("/")
        servers = op.get("servers") or item.get("servers") or self.spec.get("servers") or []
        if not isinstance(servers, list) or not servers:
            raise SpecError(where, "no `servers` entry gives a base URL; pass a base URL option (--base-url)")
        idx = self.options.server_index if self.options.server_index < len(servers) else 0
        server = servers[idx] if isinstance(servers[idx], dict) else {}
        url = str(server.get("url") or "")
        for name, var in (server.get("variables") or {}).items():
            value = self.options.server_variables.get(name)
            if value is None and isinstance(var, dict):
                value = var.get("default")
            url = url.replace("{" + name + "}", str(value if value is not None else ""))
        if not re.match(r"^https?://", url):
            if is_url(self.docs.root_uri):
                url = urljoin(self.docs.root_uri, url)
            else:
                raise SpecError(
                    where, f"server URL {url!r} is not absolute; pass a base URL option (--base-url)"
                )
        return url.rstrip("/")

    # ---- one operation -----------------------------------------------------------------------
    def _tool(
        self, path: str, method: str, item: dict[str, Any], op: dict[str, Any], where: str, taken: set[str]
    ) -> dict[str, Any]:
        op_id = op.get("operationId")
        if isinstance(op_id, str) and op_id.strip():
            name = apply_naming(op_id, self.options.naming, self.options.prefix)
        else:
            style = "snake" if self.options.naming == "keep" else self.options.naming
            name = apply_naming(
                f"{method} {path.replace('{', ' by ').replace('}', ' ')}", style, self.options.prefix
            )
        name = unique(name, taken)

        properties: dict[str, Any] = {}
        required: list[str] = []
        config: dict[str, Any] = {"method": method.upper()}
        query: dict[str, Any] = {}
        headers: dict[str, Any] = {}
        cookies: list[str] = []
        url_path = path
        params = self._parameters(item, op, where)
        used_args: set[str] = set()
        for (loc, wire), (param, p_where) in params.items():
            arg = argument_name(wire)
            if arg in used_args or arg == "body":
                arg = argument_name(f"{wire}_{loc}")
            used_args.add(arg)
            schema = self._param_schema(param, p_where)
            if param.get("description") and isinstance(schema, dict):
                schema = {**schema, "description": str(param["description"])}
            if param.get("deprecated") and isinstance(schema, dict):
                schema = {**schema, "deprecated": True}
            if "example" in param and isinstance(schema, dict) and "examples" not in schema:
                schema = {**schema, "examples": [param["example"]]}
            properties[arg] = schema
            if loc == "path" or param.get("required"):
                required.append(arg)
            placeholder = "{" + arg + "}"
            if loc == "path":
                url_path = url_path.replace("{" + wire + "}", placeholder)
            elif loc == "query":
                query[wire] = placeholder
            elif loc == "header":
                headers[wire] = placeholder
            elif loc == "cookie":
                cookies.append(f"{wire}={placeholder}")
        missing = re.findall(r"\{([^}]+)\}", url_path)
        missing = [m for m in missing if m not in used_args]
        for wire in missing:  # a path template variable the spec forgot to declare
            arg = argument_name(wire)
            used_args.add(arg)
            properties[arg] = {"type": "string"}
            required.append(arg)
            url_path = url_path.replace("{" + wire + "}", "{" + arg + "}")
            self.result.warnings.append(
                f"{where}: path parameter {wire!r} is not declared; added as a string"
            )
        if cookies:
            headers["Cookie"] = "; ".join(cookies)

        body_note = self._request_body(op, where, properties, required, config, used_args)
        config["url"] = self._base_url(item, op, where) + url_path
        if query:
            config["query"] = query
        if headers:
            config["headers"] = headers
        config["arguments"] = "none"
        if self.options.timeout:
            config["timeout"] = self.options.timeout
        security = op.get("security", self.spec.get("security"))
        schemes = (self.spec.get("components") or {}).get("securitySchemes") or {}
        auth, auth_warnings = pick_auth(
            security,
            schemes,
            self.options.credentials,
            self.cred_prefix,
            lambda s: self._deref(s, f"{where}.security"),
        )
        self.result.warnings.extend(f"{where}.security: {w}" for w in auth_warnings)
        if auth is None and self.options.auth and security is None:
            auth = dict(self.options.auth)  # the spec declares no security: the caller's choice
        if auth:
            config["auth"] = auth

        input_schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            input_schema["required"] = list(dict.fromkeys(required))
        tool: dict[str, Any] = {"name": name, "description": description(op, method, path, body_note)}
        summary = op.get("summary")
        if isinstance(summary, str) and summary.strip():
            tool["title"] = summary.strip()[:200]
        tool["inputSchema"] = input_schema
        if self.options.output_schema:
            out = self._output_schema(op, where)
            if out is not None:
                tool["outputSchema"] = out
        tool["routing"] = {"type": "http", "config": config}
        tool["annotations"] = annotations(method, op)
        tags = [str(t) for t in op.get("tags") or [] if isinstance(t, str | int)]
        if tags:
            tool["category"] = tags[0]
            tool["keywords"] = tags
        return tool

    def _parameters(
        self, item: dict[str, Any], op: dict[str, Any], where: str
    ) -> dict[tuple[str, str], tuple[dict[str, Any], str]]:
        found: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for owner, prefix in ((item, where.rsplit(".", 1)[0]), (op, where)):
            raw_params = owner.get("parameters") or []
            if not isinstance(raw_params, list):
                raise SpecError(f"{prefix}.parameters", "expected a list")
            for idx, raw in enumerate(raw_params):
                p_where = f"{prefix}.parameters[{idx}]"
                param = self._deref(raw, p_where)
                if not isinstance(param, dict) or "name" not in param or "in" not in param:
                    raise SpecError(p_where, "a parameter needs `name` and `in`")
                loc = param["in"]
                if loc not in ("path", "query", "header", "cookie"):
                    raise SpecError(f"{p_where}.in", f"unknown parameter location {loc!r}")
                if loc == "header" and str(param["name"]).lower() in (
                    "accept",
                    "content-type",
                    "authorization",
                ):
                    continue  # set by the backend / the credential, not by the caller
                found[(loc, str(param["name"]))] = (param, p_where)
        return found

    def _param_schema(self, param: dict[str, Any], where: str) -> Any:
        if "schema" in param:
            return self._schema(param["schema"], f"{where}.schema", "input")
        content = param.get("content")
        if isinstance(content, dict) and content:
            media, body = next(iter(content.items()))
            if isinstance(body, dict) and "schema" in body:
                return self._schema(body["schema"], f"{where}.content.{media}.schema", "input")
        return {"type": "string"}

    def _request_body(
        self,
        op: dict[str, Any],
        where: str,
        properties: dict[str, Any],
        required: list[str],
        config: dict[str, Any],
        used: set[str],
    ) -> str | None:
        raw = op.get("requestBody")
        if raw is None:
            return None
        b_where = f"{where}.requestBody"
        body = self._deref(raw, b_where)
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, dict) or not content:
            raise SpecError(b_where, "expected `content` with at least one media type")
        media = pick_media(content)
        entry = content[media] if isinstance(content[media], dict) else {}
        schema = (
            self._schema(entry.get("schema", {}), f"{b_where}.content.{media}.schema", "input")
            if "schema" in entry
            else {}
        )
        arg = "body" if "body" not in used else "request_body"
        if isinstance(schema, dict) and body.get("description") and "description" not in schema:
            schema = {**schema, "description": str(body["description"])}
        properties[arg] = schema
        if body.get("required"):
            required.append(arg)
        base = media.split(";")[0].strip().lower()
        if base == "application/json" or base.endswith("+json") or base == "*/*":
            config["body"] = "{" + arg + "}"
            return None
        if base in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields = (schema.get("properties") or {}) if isinstance(schema, dict) else {}
            config["form"] = {
                name: "{" + f"{arg}.{name}" + "}" for name in fields if re.fullmatch(r"[A-Za-z_]\w*", name)
            }
            if base == "multipart/form-data":
                self.result.warnings.append(
                    f"{b_where}: multipart/form-data body is sent as form fields "
                    "(file parts are not uploaded)"
                )
                return "The request body is multipart/form-data; fields are sent form-encoded."
            return "The request body is sent form-encoded."
        config["body_text"] = "{" + arg + "}"
        config["content_type"] = media
        if not isinstance(schema, dict) or not schema:
            properties[arg] = {"type": "string", "description": f"Request body ({media})"}
        return f"The request body is sent as {media}."

    def _output_schema(self, op: dict[str, Any], where: str) -> dict[str, Any] | None:
        responses = op.get("responses") or {}
        if not isinstance(responses, dict):
            return None
        codes = sorted((str(c) for c in responses if str(c).startswith("2")), key=lambda c: c != "200")
        for code in codes:
            resp = self._deref(
                responses[code] if code in responses else responses.get(int(code)),
                f"{where}.responses.{code}",
            )
            content = resp.get("content") if isinstance(resp, dict) else None
            if not isinstance(content, dict):
                continue
            for media, entry in content.items():
                base = str(media).split(";")[0].strip().lower()
                if (
                    (base == "application/json" or base.endswith("+json"))
                    and isinstance(entry, dict)
                    and "schema" in entry
                ):
                    schema = self._schema(
                        entry["schema"], f"{where}.responses.{code}.content.{media}.schema", "output"
                    )
                    if isinstance(schema, dict) and (
                        schema.get("type") == "object" or ("properties" in schema and "type" not in schema)
                    ):
                        return schema
                    return None
        return None


__all__ = ["OpenAPIOptions", "generate_openapi"]
