"""API keys for MCP clients: shown once at creation, stored as SHA-256, bound to a client
identity with roles and scopes, optional expiry, revocable. Sent as `Authorization: Bearer`.
Key format: `mt_<key id>_<secret>`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

from magictunnel.auth.events import AuthEvents
from magictunnel.auth.store import AuthStore
from magictunnel.pipeline.context import Identity
from magictunnel.storage.models.auth import ApiKeyRow

PREFIX = "mt_"
_KEY = re.compile(r"^mt_([0-9a-f]{16})_([A-Za-z0-9_-]{20,})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@:-]{0,199}$")


class ApiKeyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(PREFIX)


def public_key(row: ApiKeyRow) -> dict[str, Any]:
    now = time.time()
    status = (
        "revoked" if row.revoked_at else "expired" if row.expires_at and row.expires_at <= now else "active"
    )
    return {
        "id": row.id,
        "name": row.name,
        "client_id": row.client_id,
        "roles": list(row.roles or []),
        "scopes": list(row.scopes or []),
        "created_at": row.created_at,
        "created_by": row.created_by,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "last_used_at": row.last_used_at,
        "status": status,
        "key": f"{PREFIX}{row.id}_…",
    }


class ApiKeys:
    def __init__(self, store: AuthStore, events: AuthEvents | None = None) -> None:
        self.store = store
        self.events = events or AuthEvents()
        self._last_touch: dict[str, float] = {}

    async def create(
        self,
        name: str,
        client_id: str | None = None,
        roles: list[str] | None = None,
        scopes: list[str] | None = None,
        expires_in_days: float | None = None,
        actor: str | None = None,
    ) -> tuple[ApiKeyRow, str]:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ApiKeyError(400, "name: 1-200 characters, letters, digits, space, '.', '_', '@', ':', '-'")
        client = client_id or name
        if not _NAME.match(client):
            raise ApiKeyError(
                400, "client_id: 1-200 characters, letters, digits, space, '.', '_', '@', ':', '-'"
            )
        for field, values in (("roles", roles or []), ("scopes", scopes or [])):
            if not all(isinstance(v, str) and v.strip() and len(v) <= 200 for v in values):
                raise ApiKeyError(400, f"{field}: expected a list of non-empty strings")
        if expires_in_days is not None and not (0 < expires_in_days <= 3650):
            raise ApiKeyError(400, "expires_in_days: expected a number of days between 0 and 3650")
        key_id = secrets.token_hex(8)
        plaintext = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        now = time.time()
        row = ApiKeyRow(
            id=key_id,
            name=name,
            client_id=client,
            key_hash=_digest(plaintext),
            roles=list(roles or []),
            scopes=list(scopes or []),
            created_at=now,
            created_by=actor,
            expires_at=now + expires_in_days * 86400 if expires_in_days else None,
        )
        await self.store.add_api_key(row)
        await self.events.emit("apikey.create", actor, target=key_id, client_id=client)
        return row, plaintext

    async def revoke(self, key_id: str, actor: str | None = None) -> None:
        row = await self.store.get_api_key(key_id)
        if row is None:
            raise ApiKeyError(404, f"no API key with id {key_id!r}")
        if row.revoked_at is None:
            await self.store.revoke_api_key(key_id)
        await self.events.emit("apikey.revoke", actor, target=key_id, client_id=row.client_id)

    async def list(self, client_id: str | None = None) -> list[dict[str, Any]]:
        return [public_key(r) for r in await self.store.list_api_keys(client_id)]

    async def verify(self, token: str) -> Identity | None:
        match = _KEY.match(token)
        if match is None:
            return None
        row = await self.store.get_api_key(match.group(1))
        if row is None or not hmac.compare_digest(row.key_hash, _digest(token)):
            return None
        now = time.time()
        if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
            return None
        if now - self._last_touch.get(row.id, 0.0) > 60:
            self._last_touch[row.id] = now
            await self.store.touch_api_key(row.id)
        return Identity(
            client_id=row.client_id,
            roles=tuple(row.roles or ()),
            authenticated=True,
            auth_method="api_key",
            scopes=tuple(row.scopes or ()),
            attributes={"api_key_id": row.id, "api_key_name": row.name},
        )
