"""Per-server OAuth state in the vault (`upstream_oauth/<server>`): tokens, client
registration and the endpoints needed to refresh without rediscovery. Implements the SDK's
`TokenStorage` protocol so the SDK's `OAuthClientProvider` reads and writes it directly.
"""

from __future__ import annotations

import time
from typing import Any

from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

VAULT_PREFIX = "upstream_oauth/"


class VaultTokenStorage:
    def __init__(
        self, vault: Any, server: str, preregistered: OAuthClientInformationFull | None = None
    ) -> None:
        self.vault = vault
        self.server = server
        self.name = VAULT_PREFIX + server
        self.preregistered = preregistered

    def record(self) -> dict[str, Any]:
        data = self.vault.get_json(self.name)
        return data if isinstance(data, dict) else {}

    def update(self, **fields: Any) -> None:
        record = self.record()
        record.update(fields, updated_at=time.time())
        self.vault.set_json(self.name, record, f"OAuth tokens for upstream server {self.server}")

    async def get_tokens(self) -> OAuthToken | None:
        raw = self.record().get("tokens")
        if not raw:
            return None
        token = OAuthToken.model_validate(raw)
        expires_at = self.record().get("expires_at")
        if expires_at is not None:  # the SDK computes expiry from expires_in relative to now
            token.expires_in = max(0, int(expires_at - time.time()))
        return token

    async def set_tokens(self, tokens: OAuthToken) -> None:
        expires_at = time.time() + tokens.expires_in if tokens.expires_in else None
        previous = self.record().get("tokens") or {}
        data = tokens.model_dump(mode="json", exclude_none=True)
        if not data.get("refresh_token") and previous.get("refresh_token"):
            data["refresh_token"] = previous["refresh_token"]  # RFC 6749 §6: keep the old one
        self.update(tokens=data, expires_at=expires_at)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        raw = self.record().get("client_info")
        if raw:
            return OAuthClientInformationFull.model_validate(raw)
        return self.preregistered

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.update(client_info=client_info.model_dump(mode="json", exclude_none=True))

    def clear(self) -> None:
        self.vault.delete(self.name)

    def status(self) -> dict[str, Any]:
        record = self.record()
        tokens = record.get("tokens") or {}
        expires_at = record.get("expires_at")
        return {
            "server": self.server,
            "signed_in": bool(tokens.get("access_token")),
            "expires_at": expires_at,
            "expired": bool(expires_at and expires_at <= time.time()),
            "has_refresh_token": bool(tokens.get("refresh_token")),
            "scope": tokens.get("scope"),
            "issuer": record.get("issuer"),
            "client_id": (record.get("client_info") or {}).get("client_id")
            or (self.preregistered.client_id if self.preregistered else None),
            "updated_at": record.get("updated_at"),
        }
