"""OAuth2 client-credentials tokens for HTTP-based tools.

A tool generated from an OpenAPI `clientCredentials` security scheme carries::

    auth: {type: bearer, credential: svc.oauth,
           oauth2: {flow: client_credentials, token_url: https://auth.example/token, scopes: [read]}}

The vault credential holds `client_id:client_secret`. At call time the token endpoint is
asked for an access token (`grant_type=client_credentials`, client authentication with HTTP
Basic, or in the form body with `oauth2.client_auth: post`), which is cached until shortly
before `expires_in` runs out and sent as the bearer token. Errors name the token endpoint
and the OAuth error code, never the client secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import httpx

from magictunnel.backends.base import BackendError

EXPIRY_MARGIN = 30.0
DEFAULT_LIFETIME = 3600.0

_tokens: dict[tuple[str, ...], tuple[str, float]] = {}
_locks: dict[tuple[str, ...], asyncio.Lock] = {}


def _key(oauth: dict[str, Any], client_id: str, client_secret: str) -> tuple[str, ...]:
    digest = hashlib.sha256(client_secret.encode()).hexdigest()
    scopes = " ".join(sorted(str(s) for s in oauth.get("scopes") or []))
    return (str(oauth.get("token_url")), client_id, scopes, digest)


async def client_credentials_token(oauth: dict[str, Any], credential: str) -> str:
    token_url = oauth.get("token_url")
    if not isinstance(token_url, str) or not token_url.startswith(("http://", "https://")):
        raise BackendError("auth.oauth2.token_url: required, the token endpoint URL")
    client_id, sep, client_secret = credential.partition(":")
    if not sep or not client_id:
        raise BackendError('auth.oauth2: the credential must be "client_id:client_secret"')
    key = _key(oauth, client_id, client_secret)
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        cached = _tokens.get(key)
        if cached and cached[1] > time.monotonic():
            return cached[0]
        token, lifetime = await _fetch(token_url, client_id, client_secret, oauth)
        _tokens[key] = (token, time.monotonic() + max(0.0, lifetime - EXPIRY_MARGIN))
        return token


async def _fetch(
    token_url: str, client_id: str, client_secret: str, oauth: dict[str, Any]
) -> tuple[str, float]:
    data = {"grant_type": "client_credentials"}
    scopes = [str(s) for s in oauth.get("scopes") or []]
    if scopes:
        data["scope"] = " ".join(scopes)
    auth: tuple[str, str] | None = (client_id, client_secret)
    if oauth.get("client_auth") == "post":
        data.update({"client_id": client_id, "client_secret": client_secret})
        auth = None
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                token_url, data=data, auth=auth, headers={"Accept": "application/json"}
            )
    except httpx.HTTPError as exc:
        raise BackendError(f"OAuth2 token endpoint {token_url}: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400 or not isinstance(body, dict) or not body.get("access_token"):
        code = body.get("error") if isinstance(body, dict) else None
        raise BackendError(
            f"OAuth2 token endpoint {token_url} refused the client credentials: HTTP {response.status_code}"
            + (f" {code}" if code else "")
        )
    try:
        lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME)
    except (TypeError, ValueError):
        lifetime = DEFAULT_LIFETIME
    return str(body["access_token"]), lifetime


def clear_cache() -> None:
    _tokens.clear()
