"""`graphql` backend: run one GraphQL operation against an endpoint.

routing.config:

- `endpoint` (str, required; `url` is accepted too): the GraphQL endpoint, templated like
  the `http` backend's `url` (placeholders after the host are percent-encoded).
- `query` (str, required): the GraphQL document.
- `variables` (mapping, optional): a template rendered against the arguments
  (`{id: "{user_id}"}`; a value that is exactly one placeholder keeps the argument's type,
  placeholders for missing arguments are dropped). Without it, the tool's arguments are the
  variables, as they are.
- `operation_name` (str, optional; `operationName` is accepted too).
- `headers` (mapping name -> template), `auth` (credential injection, as for `http`),
  `timeout`, `retries`, `retry_backoff`, `retry_backoff_max`, `retry_on_status`,
  `max_response_bytes`, `verify_tls`: as for the `http` backend. Query operations retry
  on 502/503/504 by default; mutations retry only on connection errors unless
  `retry_on_status` is given.
- `method` (`POST` default, or `GET` to send the operation as query parameters).
- `data_path` (str, optional): a dotted path into `data` to return instead of all of it
  (e.g. `user` for `{ user(id: 1) { name } }`).

A response with a non-empty `errors` list is an `isError` result carrying the error
messages (and any partial `data` in structuredContent); otherwise `data` is the result
(an object becomes structuredContent). A non-2xx response without GraphQL errors is an
`isError` result with the status and a body excerpt.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mcp_types import CallToolResult

from magictunnel.backends.base import error_result, json_result
from magictunnel.backends.http import render_headers, render_url
from magictunnel.backends.http_client import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    EXCERPT,
    RetryPolicy,
    SharedHttpClient,
    apply_auth,
    build_request,
    check_common,
    redact,
    send,
)
from magictunnel.backends.http_result import status_error
from magictunnel.backends.templating import render_value
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext

_MUTATION = re.compile(r"^\s*(#[^\n]*\n\s*)*mutation\b")


class GraphQLBackend:
    type = "graphql"

    def __init__(self, client: SharedHttpClient | None = None, vault: Any = None) -> None:
        self.client = client or SharedHttpClient()
        self.vault = vault

    def check_config(self, config: dict[str, Any]) -> list[str]:
        problems = []
        endpoint = config.get("endpoint", config.get("url"))
        if not isinstance(endpoint, str) or not endpoint:
            problems.append("endpoint: required, the GraphQL endpoint URL")
        elif not (endpoint.startswith(("http://", "https://")) or endpoint.startswith("{")):
            problems.append(f"endpoint: expected an http:// or https:// URL, got {endpoint!r}")
        query = config.get("query")
        if not isinstance(query, str) or not query.strip():
            problems.append("query: required, the GraphQL document to run")
        if "variables" in config and not isinstance(config["variables"], dict):
            problems.append("variables: expected a mapping of variable name to value template")
        name = config.get("operation_name", config.get("operationName"))
        if name is not None and not isinstance(name, str):
            problems.append("operation_name: expected a string")
        if str(config.get("method", "POST")).upper() not in ("POST", "GET"):
            problems.append(f"method: expected POST or GET, got {config.get('method')!r}")
        if "data_path" in config and not isinstance(config["data_path"], str):
            problems.append("data_path: expected a dotted path such as user.repositories")
        return problems + check_common(config)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        config = tool.routing.config
        endpoint = render_url(str(config.get("endpoint", config.get("url"))), arguments)
        query = str(config["query"])
        if "variables" in config:
            variables = render_value(config["variables"], arguments)
        else:
            variables = {k: v for k, v in arguments.items() if v is not None}
        payload: dict[str, Any] = {"query": query}
        if variables:
            payload["variables"] = variables
        operation = config.get("operation_name", config.get("operationName"))
        if operation:
            payload["operationName"] = operation
        headers = render_headers(config.get("headers") or {}, arguments)
        headers.setdefault("Accept", "application/graphql-response+json, application/json")
        params: list[tuple[str, str]] = []
        cookies: dict[str, str] = {}
        secrets = await apply_auth(config.get("auth"), self.vault, headers, params, cookies)
        method = str(config.get("method", "POST")).upper()
        client = self.client.get(verify=bool(config.get("verify_tls", True)))
        timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        kwargs: dict[str, Any] = {}
        if method == "GET":
            params.append(("query", query))
            if variables:
                params.append(("variables", json.dumps(variables, ensure_ascii=False)))
            if operation:
                params.append(("operationName", str(operation)))
        else:
            kwargs["json"] = payload
        request = build_request(
            client,
            method,
            endpoint,
            headers=headers,
            params=params,
            cookies=cookies,
            timeout=timeout,
            secrets=secrets,
            **kwargs,
        )
        is_mutation = bool(_MUTATION.match(query))
        policy = RetryPolicy.from_config(config, "POST" if is_mutation else "GET")
        max_bytes = int(config.get("max_response_bytes", DEFAULT_MAX_BYTES))
        outcome = await send(client, request, policy, max_bytes, secrets)
        try:
            body = json.loads(outcome.body) if outcome.body else None
        except ValueError:
            body = None
        if not isinstance(body, dict) or not ("data" in body or "errors" in body):
            if not outcome.ok:
                return status_error(outcome)
            excerpt = outcome.text()[:EXCERPT]
            return error_result(
                f"GraphQL endpoint returned a response that is not a GraphQL result: {excerpt}",
                status=outcome.status,
            )
        errors = body.get("errors")
        if errors:
            return _errors_result(errors, body.get("data"), outcome.status, secrets)
        if not outcome.ok:
            return status_error(outcome, "GraphQL HTTP")
        data = body.get("data")
        path = config.get("data_path")
        if path:
            for step in str(path).split("."):
                if not isinstance(data, dict) or step not in data:
                    return error_result(f"GraphQL result has no data.{path} (stopped at {step!r})")
                data = data[step]
        return json_result(data)


def _errors_result(errors: Any, data: Any, status: int, secrets: list[str]) -> CallToolResult:
    items = errors if isinstance(errors, list) else [errors]
    messages = []
    for item in items:
        if isinstance(item, dict):
            message = str(item.get("message", item))
            path = item.get("path")
            if isinstance(path, list) and path:
                message += f" (at {'.'.join(str(p) for p in path)})"
        else:
            message = str(item)
        messages.append(redact(message, secrets))
    text = "GraphQL error" + ("s" if len(messages) > 1 else "") + ": " + "; ".join(messages)
    structured: dict[str, Any] = {"errors": items, "status": status}
    if data is not None:
        structured["data"] = data
    return error_result(text, **structured)


__all__ = ["GraphQLBackend"]
