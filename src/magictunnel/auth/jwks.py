"""Fetch and cache an issuer's metadata and JWKS; verify JWTs against it."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
from jwt import PyJWKSet


class JwksError(Exception):
    pass


async def fetch_json(client: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise JwksError(f"{what} {url}: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        raise JwksError(f"{what} {url}: HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise JwksError(f"{what} {url}: response is not JSON") from None
    if not isinstance(data, dict):
        raise JwksError(f"{what} {url}: expected a JSON object")
    return data


def discovery_urls(issuer: str) -> list[str]:
    """RFC 8414 (path-inserted) and OpenID Connect discovery URLs for an issuer."""
    base = issuer.rstrip("/")
    scheme, _, rest = base.partition("://")
    host, _, path = rest.partition("/")
    urls = []
    if path:
        urls.append(f"{scheme}://{host}/.well-known/oauth-authorization-server/{path}")
        urls.append(f"{scheme}://{host}/.well-known/openid-configuration/{path}")
        urls.append(f"{base}/.well-known/openid-configuration")
    else:
        urls.append(f"{base}/.well-known/oauth-authorization-server")
        urls.append(f"{base}/.well-known/openid-configuration")
    return urls


async def discover_issuer(client: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
    problems = []
    for url in discovery_urls(issuer):
        try:
            meta = await fetch_json(client, url, "authorization server metadata")
        except JwksError as exc:
            problems.append(str(exc))
            continue
        if str(meta.get("issuer", "")).rstrip("/") != issuer.rstrip("/"):
            problems.append(f"{url}: issuer {meta.get('issuer')!r} does not match {issuer!r}")
            continue
        return meta
    raise JwksError("; ".join(problems) or f"no metadata for issuer {issuer}")


class JwksCache:
    """Keys of one issuer, refetched after `ttl` seconds or when an unknown `kid` shows up."""

    def __init__(
        self,
        issuer: str | None,
        jwks_uri: str | None,
        ttl: float = 300.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not issuer and not jwks_uri:
            raise JwksError("an issuer or a jwks_uri is required")
        self.issuer = issuer
        self.jwks_uri = jwks_uri
        self.ttl = ttl
        self._client = client
        self._keys: PyJWKSet | None = None
        self._fetched = 0.0
        self._last_forced = 0.0

    async def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10.0)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def refresh(self) -> PyJWKSet:
        client = await self._http()
        if not self.jwks_uri:
            meta = await discover_issuer(client, self.issuer or "")
            if not meta.get("jwks_uri"):
                raise JwksError(f"issuer {self.issuer} publishes no jwks_uri")
            self.jwks_uri = str(meta["jwks_uri"])
        data = await fetch_json(client, self.jwks_uri, "JWKS")
        try:
            self._keys = PyJWKSet.from_dict(data)
        except jwt.PyJWTError as exc:
            raise JwksError(f"JWKS {self.jwks_uri}: {exc}") from None
        self._fetched = time.monotonic()
        return self._keys

    async def key_for(self, token: str) -> Any:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise JwksError(f"malformed token: {exc}") from None
        kid = header.get("kid")
        keys = self._keys
        if keys is None or time.monotonic() - self._fetched > self.ttl:
            keys = await self.refresh()
        key = self._find(keys, kid)
        if key is None and time.monotonic() - self._last_forced > 10:
            self._last_forced = time.monotonic()
            key = self._find(await self.refresh(), kid)
        if key is None:
            raise JwksError(f"no signing key {kid!r} in the issuer's JWKS")
        return key

    @staticmethod
    def _find(keys: PyJWKSet, kid: str | None) -> Any:
        candidates = [k for k in keys.keys if kid is None or k.key_id == kid]
        return candidates[0].key if candidates else None

    async def decode(
        self,
        token: str,
        *,
        audience: list[str] | str | None,
        algorithms: list[str],
        leeway: int = 30,
        require: tuple[str, ...] = ("exp",),
        **options: Any,
    ) -> dict[str, Any]:
        key = await self.key_for(token)
        return jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=audience,
            issuer=self.issuer,
            leeway=leeway,
            options={"require": list(require), **options},
        )
