"""`http` backend: call an HTTP API with templated URL, headers, query and body.

routing.config (every string value may use `{param}`, `{{param}}`, `{list[0]}`, `{obj.key}`):

- `url` (str, required): absolute URL. Placeholders in the path and query are
  percent-encoded (so `{id}` = `a/b` stays one path segment); placeholders in the
  scheme/host part (e.g. a leading `{base_url}`) are substituted as they are.
- `method` (str, default `GET`): GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
- `headers` (mapping name -> template): a header whose value renders empty is not sent;
  a value containing a line break is refused.
- `query` (mapping name -> template): a parameter that is only a placeholder for a
  missing argument is dropped; a list value repeats the parameter.
- `body` (any JSON value as template): sent as JSON. A string that is exactly one
  placeholder keeps the argument's type (`body: "{payload}"` sends the object).
- `body_text` (str template) with `content_type` (default `text/plain; charset=utf-8`):
  a raw body. `form` (mapping): an `application/x-www-form-urlencoded` body.
- `arguments` (`auto` | `query` | `body` | `none`, default `auto`): where arguments that no
  placeholder used go when the config gives no `query` (for query) or no
  `body`/`body_text`/`form` (for body). `auto`: JSON body for POST/PUT/PATCH, query
  parameters for the other methods.
- `timeout` (seconds, per attempt; the gateway's per-call timeout bounds the whole call).
- `retries` (int, default 2) with `retry_backoff` (seconds, default 0.2, doubled each
  attempt, capped by `retry_backoff_max`, default 5) on connection errors and on the
  statuses in `retry_on_status` (default 502, 503, 504; applied to idempotent methods
  unless `retry_on_status` is set explicitly). A numeric `Retry-After` up to the cap is honoured.
- `max_response_bytes` (int, default 10 MiB): a larger response is an error result.
- `response` (`auto` | `json` | `text`, default `auto`): `auto` parses JSON when the
  response says it is JSON. A JSON object becomes `structuredContent`.
- `follow_redirects` (bool, default true), `verify_tls` (bool, default true).
- `auth`: credential injection from the vault (`gateway.extensions["vault"]`, an object with
  `get_secret(name) -> str | None`, sync or async)::

      auth: {type: bearer, credential: github_token}
      auth: {type: api_key, credential: svc_key, in: header, name: X-API-Key}   # in: header|query|cookie
      auth: {type: basic, credential: svc_login}            # secret "user:password"
      auth: {type: basic, credential: svc_password, username: bot}

  A missing credential is an error result naming it; secrets are never logged and are
  redacted from error messages. `auth.oauth2: {flow: client_credentials, token_url, scopes}`
  exchanges a "client_id:client_secret" credential for an access token first
  (`backends/oauth2_client.py`).

A 2xx response is a result: JSON (an object also as structuredContent), text, image or
audio content for `image/*` / `audio/*`, or an embedded blob resource for other binary
data. Any other status is an `isError` result with the status and an excerpt of the body.
Redirects are followed (up to 10) but never to another origin while a credential is
attached; the shared client keeps no cookies between calls. The standard proxy
(`HTTPS_PROXY`, `NO_PROXY`, ...) and CA (`SSL_CERT_FILE`) environment variables apply.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

from mcp_types import CallToolResult

from magictunnel.backends.base import BackendError
from magictunnel.backends.http_client import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    RetryPolicy,
    SharedHttpClient,
    apply_auth,
    build_request,
    check_common,
    log,
    redact,
    send,
)
from magictunnel.backends.http_result import status_error, to_result
from magictunnel.backends.templating import placeholders, render, render_value
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


# ---- templating -----------------------------------------------------------------------------
def render_url(template: str, arguments: dict[str, Any]) -> str:
    """Render a URL template: raw in the scheme/host part, percent-encoded after it."""
    split = _origin_end(template)
    head = render(template[:split], arguments)
    tail = render(template[split:], arguments, quote=lambda text: quote(text, safe=""))
    return head + tail


def _origin_end(template: str) -> int:
    start = template.find("://")
    start = start + 3 if start >= 0 else 0
    depth = 0
    for idx in range(start, len(template)):
        ch = template[idx]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch in "/?#" and depth == 0:
            return idx
    return len(template)


def used_parameters(*templates: Any) -> set[str]:
    """Top-level argument names referenced by placeholders anywhere in the templates."""
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for path in placeholders(value):
                names.add(re.split(r"[.\[]", path, maxsplit=1)[0])
        elif isinstance(value, dict):
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for template in templates:
        walk(template)
    return names


def render_headers(templates: dict[str, Any], arguments: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, template in (templates or {}).items():
        value = render(str(template), arguments)
        if value == "":
            continue
        if "\r" in value or "\n" in value:
            raise BackendError(f"header {name}: value contains a line break")
        headers[str(name)] = value
    return headers


def render_query(templates: dict[str, Any], arguments: dict[str, Any]) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for name, template in (templates or {}).items():
        value = render_value(template, arguments)
        _append_param(params, str(name), value)
    return params


def _append_param(params: list[tuple[str, str]], name: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            _append_param(params, name, item)
        return
    if isinstance(value, bool):
        params.append((name, "true" if value else "false"))
    elif isinstance(value, dict):
        params.append((name, json.dumps(value, ensure_ascii=False)))
    else:
        params.append((name, str(value)))


# ---- the backend ----------------------------------------------------------------------------
class HttpBackend:
    type = "http"

    def __init__(self, client: SharedHttpClient | None = None, vault: Any = None) -> None:
        self.client = client or SharedHttpClient()
        #: the vault object, or a callable returning it (looked up on every call)
        self.vault = vault

    def check_config(self, config: dict[str, Any]) -> list[str]:
        problems = []
        url = config.get("url")
        if not isinstance(url, str) or not url:
            problems.append("url: required, an absolute http(s) URL (may contain {param} placeholders)")
        elif not (url.startswith(("http://", "https://")) or url.startswith("{")):
            problems.append(f"url: expected an http:// or https:// URL, got {url!r}")
        method = config.get("method", "GET")
        if not isinstance(method, str) or method.upper() not in METHODS:
            problems.append(f"method: expected one of {', '.join(METHODS)}, got {method!r}")
        for key in ("query", "form"):
            if key in config and not isinstance(config[key], dict):
                problems.append(f"{key}: expected a mapping")
        if "body_text" in config and not isinstance(config["body_text"], str):
            problems.append("body_text: expected a string")
        if sum(k in config for k in ("body", "body_text", "form")) > 1:
            problems.append("body: use only one of body, body_text and form")
        if config.get("arguments", "auto") not in ("auto", "query", "body", "none"):
            problems.append("arguments: expected auto, query, body or none")
        if config.get("response", "auto") not in ("auto", "json", "text"):
            problems.append("response: expected auto, json or text")
        return problems + check_common(config)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        config = tool.routing.config
        method = str(config.get("method", "GET")).upper()
        url = render_url(str(config["url"]), arguments)
        headers = render_headers(config.get("headers") or {}, arguments)
        params = render_query(config.get("query") or {}, arguments)
        cookies: dict[str, str] = {}
        kwargs: dict[str, Any] = {}
        body_keys = [k for k in ("body", "body_text", "form") if k in config]
        used = used_parameters(
            config.get("url"), config.get("headers"), config.get("query"), *(config[k] for k in body_keys)
        )
        rest = {k: v for k, v in arguments.items() if k not in used and v is not None}
        target = config.get("arguments", "auto")
        if target == "auto":
            target = "body" if method in BODY_METHODS else "query"
        if "body" in config:
            kwargs["json"] = render_value(config["body"], arguments)
        elif "body_text" in config:
            kwargs["content"] = render(str(config["body_text"]), arguments).encode()
            headers.setdefault("Content-Type", str(config.get("content_type", "text/plain; charset=utf-8")))
        elif "form" in config:
            form: list[tuple[str, str]] = []
            for name, template in config["form"].items():
                _append_param(form, str(name), render_value(template, arguments))
            fields: dict[str, list[str]] = {}
            for name, value in form:
                fields.setdefault(name, []).append(value)
            kwargs["data"] = {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
        elif target == "body" and rest:
            kwargs["json"] = rest
        if target == "query" and "query" not in config:
            for name, value in rest.items():
                _append_param(params, name, value)
        secrets = await apply_auth(config.get("auth"), self.vault, headers, params, cookies)
        client = self.client.get(verify=bool(config.get("verify_tls", True)))
        timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        request = build_request(
            client,
            method,
            url,
            headers=headers,
            params=params,
            cookies=cookies,
            timeout=timeout,
            secrets=secrets,
            **kwargs,
        )
        safe_url = redact(str(request.url.copy_with(query=None)), secrets)
        log.debug("%s %s (tool %s)", method, safe_url, tool.name)
        outcome = await send(
            client,
            request,
            RetryPolicy.from_config(config, method),
            int(config.get("max_response_bytes", DEFAULT_MAX_BYTES)),
            secrets,
            bool(config.get("follow_redirects", True)),
        )
        if not outcome.ok:
            return status_error(outcome)
        return to_result(outcome, str(config.get("response", "auto")))


__all__ = ["HttpBackend", "render_headers", "render_query", "render_url", "used_parameters"]
