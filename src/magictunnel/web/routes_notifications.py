"""Administrator notifications: /api/notifications."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from magictunnel.auth.notifications import public_notification
from magictunnel.web.deps import AdminPrincipal, require_admin
from magictunnel.web.routes_auth_common import auth_feature

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("")
async def list_notifications(
    request: Request,
    unread_only: bool = False,
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
    _: AdminPrincipal = Depends(require_admin("notifications.read")),
) -> dict[str, Any]:
    store = auth_feature(request).store
    rows = await store.list_notifications(unread_only, limit, offset)
    return {"notifications": [public_notification(r) for r in rows], "unread": await store.count_unread()}


@router.post("/mark-all-read")
async def mark_all_read(
    request: Request, _: AdminPrincipal = Depends(require_admin("notifications.write"))
) -> dict[str, Any]:
    return {"marked": await auth_feature(request).store.mark_all_read()}


@router.post("/{notification_id}/read")
async def mark_read(
    notification_id: int, request: Request, _: AdminPrincipal = Depends(require_admin("notifications.write"))
) -> dict[str, Any]:
    if not await auth_feature(request).store.mark_read(notification_id):
        raise HTTPException(404, detail=f"no notification {notification_id}")
    return {"id": notification_id, "read": True}
