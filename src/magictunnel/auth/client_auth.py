"""MCP client authentication for every MCP transport (published as
`gateway.extensions["client_auth"]`).

`await authenticate(headers)` returns the caller's `Identity`, or None when the caller sent
no credentials and this deployment lets anonymous local clients in (proxy mode on loopback).
It raises `AuthChallenge` (status 401/403 + WWW-Authenticate) when credentials are required
or are wrong. Bearer values starting with `mt_` are API keys; anything else is an OAuth JWT.
"""

from __future__ import annotations

from collections.abc import Mapping

from magictunnel.auth.apikeys import ApiKeys, looks_like_api_key
from magictunnel.auth.resource_server import AuthChallenge, ResourceServer
from magictunnel.pipeline.context import Identity


class ClientAuthenticator:
    def __init__(
        self,
        api_keys: ApiKeys | None,
        resource_server: ResourceServer,
        required: bool,
        api_keys_enabled: bool = True,
    ) -> None:
        self.api_keys = api_keys
        self.resource_server = resource_server
        self.required = required
        self.api_keys_enabled = api_keys_enabled

    def challenge(self, error: str | None = None, headers: Mapping[str, str] | None = None) -> AuthChallenge:
        """The 401 for a request without credentials (resource_metadata + scope hints)."""
        return self.resource_server.challenge(headers or {}, error=error)

    async def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        lower = {k.lower(): v for k, v in headers.items()}
        header = lower.get("authorization", "").strip()
        if not header:
            if self.required:
                raise self.resource_server.challenge(headers)
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise self.resource_server.challenge(
                headers, error="invalid_request", description="expected Authorization: Bearer <token>"
            )
        if looks_like_api_key(token):
            identity = None
            if self.api_keys is not None and self.api_keys_enabled:
                identity = await self.api_keys.verify(token)
            if identity is None:
                raise self.resource_server.challenge(
                    headers, error="invalid_token", description="API key unknown, expired or revoked"
                )
            return identity
        return await self.resource_server.validate(token, headers)
