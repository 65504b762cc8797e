"""The vault over REST: names and metadata only; values go in, never come out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from magictunnel.web.deps import AdminPrincipal, require_admin
from magictunnel.web.routes_auth_common import auth_feature

router = APIRouter(prefix="/api/vault", tags=["vault"])

_NAME = r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,199}$"


class SecretPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(min_length=1, max_length=65536)
    description: str = Field(default="", max_length=500)


@router.get("/secrets")
async def list_secrets(
    request: Request, _: AdminPrincipal = Depends(require_admin("vault.list"))
) -> dict[str, Any]:
    return {"secrets": auth_feature(request).vault.list()}


@router.put("/secrets/{name:path}")
async def put_secret(
    name: str,
    body: SecretPut,
    request: Request,
    admin: AdminPrincipal = Depends(require_admin("vault.write")),
) -> dict[str, Any]:
    import re

    if not re.match(_NAME, name) or name.startswith("__") or ".." in name:
        raise HTTPException(400, detail="name: 1-200 characters of letters, digits, '.', '_', '/', ':', '-'")
    feature = auth_feature(request)
    feature.vault.set(name, body.value, body.description)
    await feature.events.emit("vault.set", admin.username, target=name)
    return {"name": name, "value": "********", "stored": True}


@router.delete("/secrets/{name:path}")
async def delete_secret(
    name: str, request: Request, admin: AdminPrincipal = Depends(require_admin("vault.write"))
) -> dict[str, Any]:
    feature = auth_feature(request)
    if name.startswith("__") or not feature.vault.delete(name):
        raise HTTPException(404, detail=f"no secret named {name!r}")
    await feature.events.emit("vault.delete", admin.username, target=name)
    return {"deleted": name}
