"""Token endpoint grants MagicTunnel performs itself: refresh (background) and the device
authorization grant (RFC 8628) for headless hosts; plus dynamic registration (RFC 7591)
for the device flow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class GrantError(Exception):
    pass


def _client_auth(client_info: dict[str, Any], data: dict[str, Any]) -> httpx.Auth | None:
    method = client_info.get("token_endpoint_auth_method")
    secret = client_info.get("client_secret")
    client_id = str(client_info["client_id"])
    if secret and method in (None, "client_secret_basic"):
        return httpx.BasicAuth(client_id, secret)
    data["client_id"] = client_id
    if secret and method == "client_secret_post":
        data["client_secret"] = secret
    return None


async def token_request(
    client: httpx.AsyncClient, token_endpoint: str, client_info: dict[str, Any], data: dict[str, Any]
) -> httpx.Response:
    auth = _client_auth(client_info, data)
    try:
        return await client.post(
            token_endpoint,
            data=data,
            auth=auth or httpx.USE_CLIENT_DEFAULT,
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise GrantError(f"token endpoint {token_endpoint}: {exc}") from None


def json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise GrantError(f"{what}: HTTP {response.status_code}, response is not JSON") from None
    if not isinstance(body, dict):
        raise GrantError(f"{what}: expected a JSON object")
    return body


async def refresh(
    client: httpx.AsyncClient,
    token_endpoint: str,
    client_info: dict[str, Any],
    refresh_token: str,
    resource: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if resource:
        data["resource"] = resource
    response = await token_request(client, token_endpoint, client_info, data)
    body = json_object(response, "refresh")
    if response.status_code != 200 or "access_token" not in body:
        raise GrantError(
            f"refresh refused: {body.get('error', response.status_code)} "
            f"{body.get('error_description', '')}".strip()
        )
    return body


async def register(
    client: httpx.AsyncClient,
    endpoint: str,
    client_name: str,
    grant_types: list[str],
    redirect_uris: list[str] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "client_name": client_name,
        "grant_types": grant_types,
        "token_endpoint_auth_method": "none",
        "response_types": [],
    }
    if redirect_uris:
        payload["redirect_uris"] = redirect_uris
        payload["response_types"] = ["code"]
    try:
        response = await client.post(endpoint, json=payload)
    except httpx.HTTPError as exc:
        raise GrantError(f"registration endpoint {endpoint}: {exc}") from None
    body = json_object(response, "dynamic client registration")
    if response.status_code not in (200, 201) or "client_id" not in body:
        raise GrantError(f"dynamic client registration refused: HTTP {response.status_code} {body}")
    return body


async def device_flow(
    client: httpx.AsyncClient,
    metadata: dict[str, Any],
    client_info: dict[str, Any],
    scope: str | None,
    resource: str | None,
    show: Callable[[dict[str, Any]], Awaitable[None] | None],
    max_wait: float | None = None,
) -> dict[str, Any]:
    """RFC 8628: request a user code, show it, poll until the user approves (or it expires)."""
    endpoint = metadata.get("device_authorization_endpoint")
    if not endpoint:
        raise GrantError(
            "the authorization server does not support the device flow "
            "(no device_authorization_endpoint in its metadata)"
        )
    data: dict[str, Any] = {}
    if scope:
        data["scope"] = scope
    if resource:
        data["resource"] = resource
    auth = _client_auth(client_info, data)
    try:
        response = await client.post(str(endpoint), data=data, auth=auth or httpx.USE_CLIENT_DEFAULT)
    except httpx.HTTPError as exc:
        raise GrantError(f"device authorization endpoint {endpoint}: {exc}") from None
    grant = json_object(response, "device authorization")
    if response.status_code != 200 or "device_code" not in grant:
        raise GrantError(f"device authorization refused: {grant.get('error', response.status_code)}")
    shown = show(
        {
            k: grant.get(k)
            for k in ("user_code", "verification_uri", "verification_uri_complete", "expires_in")
        }
    )
    if shown is not None:
        await shown
    interval = float(grant.get("interval") or 5)
    deadline = time.monotonic() + float(max_wait or grant.get("expires_in") or 600)
    while time.monotonic() < deadline:
        await asyncio.sleep(interval)
        poll = {"grant_type": DEVICE_GRANT, "device_code": grant["device_code"]}
        if resource:
            poll["resource"] = resource
        response = await token_request(client, str(metadata["token_endpoint"]), client_info, poll)
        body = json_object(response, "device token")
        if response.status_code == 200 and "access_token" in body:
            return body
        error = body.get("error")
        if error == "authorization_pending":
            continue
        if error == "slow_down":
            interval += 5
            continue
        if error in ("access_denied", "expired_token"):
            raise GrantError(f"device sign-in ended: {error}")
        raise GrantError(f"device token request failed: {error or response.status_code}")
    raise GrantError("device sign-in timed out before the user approved it")
