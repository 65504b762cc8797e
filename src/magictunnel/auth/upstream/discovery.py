"""Find a remote MCP server's authorization server: RFC 9728 protected resource metadata
(from the 401's WWW-Authenticate or the well-known URLs), then RFC 8414 / OpenID discovery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
)
from mcp.shared.auth_utils import resource_url_from_server_url


class DiscoveryError(Exception):
    pass


@dataclass
class ServerAuthInfo:
    server_url: str
    resource: str
    issuer: str
    metadata: dict[str, Any]
    scopes_supported: list[str] = field(default_factory=list)
    challenged_scope: str | None = None

    @property
    def token_endpoint(self) -> str:
        return str(self.metadata["token_endpoint"])


def _www_auth_param(header: str, name: str) -> str | None:
    for part in header.replace("Bearer ", "", 1).split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return None


async def fetch_metadata(client: httpx.AsyncClient, url: str) -> dict[str, Any] | None:
    """A metadata document (a JSON object) at `url`, or None when there is none."""
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        meta = response.json()
    except ValueError:
        return None
    return meta if isinstance(meta, dict) else None


async def discover(client: httpx.AsyncClient, server_url: str) -> ServerAuthInfo:
    """Probe the server, then walk PRM and authorization server metadata."""
    www_auth = ""
    try:
        probe = await client.post(
            server_url,
            json={"jsonrpc": "2.0", "id": 0, "method": "ping"},
            headers={"Accept": "application/json, text/event-stream"},
        )
        www_auth = probe.headers.get("www-authenticate", "")
    except httpx.HTTPError as exc:
        raise DiscoveryError(f"{server_url}: cannot reach server: {exc}") from None
    prm: dict[str, Any] | None = None
    for url in build_protected_resource_metadata_discovery_urls(
        _www_auth_param(www_auth, "resource_metadata"), server_url
    ):
        try:
            response = await client.get(url)
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            try:
                prm = response.json()
            except ValueError:
                continue
            break
    auth_server = None
    if prm and prm.get("authorization_servers"):
        auth_server = str(prm["authorization_servers"][0])
    for url in build_oauth_authorization_server_metadata_discovery_urls(auth_server, server_url):
        meta = await fetch_metadata(client, url)
        if meta is None or not meta.get("token_endpoint"):
            continue
        issuer = str(meta.get("issuer") or auth_server or "")
        resource = str((prm or {}).get("resource") or resource_url_from_server_url(server_url))
        return ServerAuthInfo(
            server_url,
            resource,
            issuer,
            meta,
            list((prm or {}).get("scopes_supported") or []),
            _www_auth_param(www_auth, "scope"),
        )
    origin = urlparse(server_url)
    raise DiscoveryError(
        f"{server_url}: no authorization server metadata found "
        f"(tried protected resource metadata and {origin.scheme}://{origin.netloc}"
        f"/.well-known/oauth-authorization-server)"
    )
