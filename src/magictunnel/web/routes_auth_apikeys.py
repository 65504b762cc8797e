"""MCP client API keys: /api/auth/api-keys (the key is shown once, at creation)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from magictunnel.auth.apikeys import ApiKeyError, public_key
from magictunnel.web.deps import AdminPrincipal, require_admin
from magictunnel.web.routes_auth_common import auth_feature

router = APIRouter(prefix="/api/auth/api-keys", tags=["auth"])


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    client_id: str | None = Field(default=None, max_length=200)
    roles: list[str] = Field(default_factory=list)
    scopes: list[str] = Field(default_factory=list)
    expires_in_days: float | None = None


@router.get("")
async def list_keys(
    request: Request,
    client_id: str | None = None,
    _: AdminPrincipal = Depends(require_admin("auth.apikeys.read")),
) -> dict[str, Any]:
    return {"api_keys": await auth_feature(request).api_keys.list(client_id)}


@router.post("", status_code=201)
async def create_key(
    body: ApiKeyCreate, request: Request, admin: AdminPrincipal = Depends(require_admin("auth.apikeys.write"))
) -> dict[str, Any]:
    try:
        row, plaintext = await auth_feature(request).api_keys.create(
            body.name, body.client_id, body.roles, body.scopes, body.expires_in_days, admin.username
        )
    except ApiKeyError as exc:
        raise HTTPException(exc.status, detail=exc.message) from None
    return {**public_key(row), "key": plaintext, "note": "store this key now: it is not shown again"}


@router.delete("/{key_id}")
async def revoke_key(
    key_id: str, request: Request, admin: AdminPrincipal = Depends(require_admin("auth.apikeys.write"))
) -> dict[str, Any]:
    try:
        await auth_feature(request).api_keys.revoke(key_id, admin.username)
    except ApiKeyError as exc:
        raise HTTPException(exc.status, detail=exc.message) from None
    return {"revoked": key_id}
