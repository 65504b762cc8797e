"""SEP-990 enterprise-managed authorization for upstream MCP servers (`grant_type: identity_assertion`).

Two legs, no browser:
1. **At the enterprise identity provider** (RFC 8693 token exchange): the user's ID token is
   exchanged for an Identity Assertion JWT Authorization Grant (ID-JAG) whose audience is the MCP
   server's authorization server and whose `resource` is the MCP server. The IdP decides, by its
   own policy, whether this user may reach that server.
2. **At the MCP server's authorization server** (RFC 7523 jwt-bearer grant): the ID-JAG, with the
   gateway's confidential client credentials, buys the access token. The SDK's
   `IdentityAssertionOAuthProvider` does this leg; the authorization server is configuration, never
   taken from the resource server, so a server cannot redirect the grant elsewhere.

The ID token comes from a file (re-read on every exchange, so a sign-in helper or sidecar can renew
it) or a vault secret. An expired one is refused here with a message saying so, before the IdP is
asked. Every failure is a `GrantError` naming the server and what went wrong; the ID token, the
ID-JAG and the secrets are never logged.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
from mcp.client.auth.extensions.identity_assertion import IdentityAssertionOAuthProvider
from mcp.client.auth.utils import build_oauth_authorization_server_metadata_discovery_urls
from mcp.shared.auth import JWT_BEARER_GRANT_TYPE

from magictunnel.auth.settings import IdentityProviderSettings, UpstreamServerOAuth
from magictunnel.auth.upstream.discovery import fetch_metadata
from magictunnel.auth.upstream.grants import GrantError, json_object, token_request
from magictunnel.auth.upstream.tokens import VaultTokenStorage

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG_TYPE = "urn:ietf:params:oauth:token-type:id-jag"
TIMEOUT = 20.0


def read_id_token(server: str, idp: IdentityProviderSettings, vault: Callable[[], Any]) -> str:
    """The ID token to exchange, checked for expiry when it is a JWT (it is not verified here: the
    IdP that issued it does that)."""
    where = f"upstream_oauth.servers.{server}.identity_provider"
    if idp.id_token_secret:
        token = vault().get_secret(idp.id_token_secret)
        source = f"vault secret {idp.id_token_secret!r}"
        if token is None:
            raise GrantError(f"{where}.id_token_secret: no vault secret named {idp.id_token_secret!r}")
    else:
        path = Path(str(idp.id_token_file)).expanduser()
        source = str(path)
        try:
            token = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GrantError(f"{where}.id_token_file: cannot read the ID token: {exc}") from None
    token = token.strip()
    if not token:
        raise GrantError(f"{where}: the ID token in {source} is empty")
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return token  # not a JWT we can read: the IdP judges it
    exp = claims.get("exp")
    if isinstance(exp, int | float) and exp < time.time():
        when = datetime.fromtimestamp(exp, UTC).isoformat(timespec="seconds")
        raise GrantError(f"{where}: the ID token in {source} expired at {when}; renew it")
    return token


async def exchange_for_id_jag(
    client: httpx.AsyncClient,
    server: str,
    idp: IdentityProviderSettings,
    id_token: str,
    audience: str,
    resource: str,
    scope: str | None,
) -> str:
    """Leg 1: RFC 8693 token exchange of the ID token for an ID-JAG at the identity provider."""
    data: dict[str, Any] = {
        "grant_type": TOKEN_EXCHANGE,
        "requested_token_type": ID_JAG_TYPE,
        "subject_token": id_token,
        "subject_token_type": ID_TOKEN_TYPE,
        "audience": audience,
        "resource": resource,
    }
    if scope:
        data["scope"] = scope
    client_info = {"client_id": idp.client_id, "client_secret": idp.client_secret}
    response = await token_request(client, idp.token_endpoint, client_info, data)
    what = f"upstream server {server}: token exchange at the identity provider {idp.token_endpoint}"
    body = json_object(response, what)
    if response.status_code != 200 or not body.get("access_token"):
        detail = f"{body.get('error', f'HTTP {response.status_code}')} {body.get('error_description', '')}"
        raise GrantError(f"{what} refused: {detail.strip()}")
    if body.get("issued_token_type") not in (None, ID_JAG_TYPE):
        raise GrantError(f"{what}: issued {body['issued_token_type']!r}, not an ID-JAG ({ID_JAG_TYPE})")
    return str(body["access_token"])


def assertion_provider(
    server: str, cfg: UpstreamServerOAuth, vault: Callable[[], Any]
) -> Callable[[str, str], Awaitable[str]]:
    """The SDK provider's callback: a fresh ID-JAG for (authorization server, resource)."""
    assert cfg.identity_provider is not None  # the settings validator guarantees it
    idp = cfg.identity_provider
    scope = " ".join(cfg.scopes) or None

    async def fetch(audience: str, resource: str) -> str:
        id_token = read_id_token(server, idp, vault)
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            return await exchange_for_id_jag(client, server, idp, id_token, audience, resource, scope)

    return fetch


def identity_assertion_provider(
    server: str, url: str, cfg: UpstreamServerOAuth, storage: VaultTokenStorage, vault: Callable[[], Any]
) -> IdentityAssertionOAuthProvider:
    assert cfg.client_id and cfg.client_secret and cfg.authorization_server  # validated settings
    method = cfg.token_endpoint_auth_method
    return IdentityAssertionOAuthProvider(
        server_url=url,
        storage=storage,
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        issuer=cfg.authorization_server,
        assertion_provider=assertion_provider(server, cfg, vault),
        scope=" ".join(cfg.scopes) or None,
        token_endpoint_auth_method="client_secret_post"
        if method == "client_secret_post"
        else "client_secret_basic",
    )


async def token_endpoint_of(client: httpx.AsyncClient, issuer: str) -> str:
    """The authorization server's token endpoint, from its own RFC 8414 / OpenID metadata."""
    for url in build_oauth_authorization_server_metadata_discovery_urls(issuer, issuer):
        meta = await fetch_metadata(client, url)
        if meta is not None and meta.get("issuer") == issuer and meta.get("token_endpoint"):
            return str(meta["token_endpoint"])
    raise GrantError(f"authorization server {issuer}: no metadata naming its token endpoint")


async def fresh_token(
    server: str, cfg: UpstreamServerOAuth, resource: str, token_endpoint: str, vault: Callable[[], Any]
) -> dict[str, Any]:
    """Both legs again (the background refresh: ID-JAG grants carry no refresh token)."""
    assert cfg.authorization_server and cfg.client_id
    scope = " ".join(cfg.scopes) or None
    id_jag = await assertion_provider(server, cfg, vault)(cfg.authorization_server, resource)
    data: dict[str, Any] = {"grant_type": JWT_BEARER_GRANT_TYPE, "assertion": id_jag, "resource": resource}
    if scope:
        data["scope"] = scope
    client_info = {
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret,
        "token_endpoint_auth_method": cfg.token_endpoint_auth_method or "client_secret_basic",
    }
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        response = await token_request(client, token_endpoint, client_info, data)
    what = f"upstream server {server}: jwt-bearer grant at {token_endpoint}"
    body = json_object(response, what)
    if response.status_code != 200 or not body.get("access_token"):
        detail = f"{body.get('error', f'HTTP {response.status_code}')} {body.get('error_description', '')}"
        raise GrantError(f"{what} refused: {detail.strip()}")
    return body
