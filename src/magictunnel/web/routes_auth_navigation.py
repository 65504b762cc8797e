"""Dashboard navigation and search, filtered by the admin's roles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from magictunnel.auth import navigation, roles
from magictunnel.web.deps import AdminPrincipal, get_gateway, require_admin
from magictunnel.web.routes_auth_common import auth_feature

router = APIRouter(tags=["navigation"])


@router.get("/api/navigation/items")
async def navigation_items(
    request: Request, admin: AdminPrincipal = Depends(require_admin("navigation.read"))
) -> dict[str, Any]:
    extra = auth_feature(request).settings.roles
    return {"items": navigation.navigation_items(admin.roles, extra), "roles": list(admin.roles)}


@router.get("/api/search/items")
async def search_items(
    request: Request,
    q: str = Query(default="", max_length=200),
    limit: int = Query(default=50, ge=1, le=500),
    admin: AdminPrincipal = Depends(require_admin("search.read")),
) -> dict[str, Any]:
    feature = auth_feature(request)
    users = None
    if roles.roles_allow(list(admin.roles), "auth.users.read", feature.settings.roles):
        users = [u.username for u in await feature.store.list_users()]
    items = navigation.search_items(
        q, admin.roles, get_gateway(request), users, limit, feature.settings.roles
    )
    return {"query": q, "items": items}
