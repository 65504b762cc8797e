"""OAuth endpoints: RFC 9728 protected resource metadata (public) and the administration of
upstream OAuth sign-ins (/api/auth/upstream-oauth/...)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from magictunnel.auth.upstream.grants import GrantError
from magictunnel.auth.upstream.manager import UpstreamLoginRequired
from magictunnel.web.deps import AdminPrincipal, get_gateway, require_admin
from magictunnel.web.routes_auth_common import auth_feature

router = APIRouter(tags=["oauth"])
upstream = APIRouter(prefix="/api/auth/upstream-oauth", tags=["oauth"])

_SERVER = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


def _feature(request: Request) -> Any:
    feature = get_gateway(request).extensions.get("auth")
    if feature is None:
        raise HTTPException(404, detail="authentication is not installed")
    return feature


@router.get("/.well-known/oauth-protected-resource")
@router.get("/.well-known/oauth-protected-resource/{resource_path:path}")
async def protected_resource_metadata(request: Request, resource_path: str = "") -> dict[str, Any]:
    """RFC 9728 metadata for the MCP endpoint (public by definition)."""
    return _feature(request).resource_server.metadata(dict(request.headers))


class LoginStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, max_length=2000, description="server URL if not in the config")


@upstream.get("/servers")
async def servers(
    request: Request, _: AdminPrincipal = Depends(require_admin("upstream_oauth.read"))
) -> dict[str, Any]:
    return {"servers": auth_feature(request).upstream.servers()}


@upstream.post("/{server}/login")
async def start_login(
    server: str,
    request: Request,
    body: LoginStart | None = None,
    admin: AdminPrincipal = Depends(require_admin("upstream_oauth.write")),
) -> dict[str, Any]:
    feature = auth_feature(request)
    _check_name(server)
    redirect_uri = str(request.url_for("upstream_oauth_callback"))
    try:
        url = await feature.upstream.start_dashboard_login(server, body.url if body else None, redirect_uri)
    except (TimeoutError, ValueError, GrantError, UpstreamLoginRequired) as exc:
        raise HTTPException(400, detail=f"cannot start sign-in to {server}: {exc}") from None
    except Exception as exc:
        raise HTTPException(502, detail=f"sign-in to {server} failed: {type(exc).__name__}: {exc}") from None
    await feature.events.emit("upstream_oauth.login_started", admin.username, target=server)
    return {"server": server, "authorization_url": url}


@upstream.get("/callback", name="upstream_oauth_callback", response_class=HTMLResponse)
async def callback(
    request: Request,
    code: str | None = None,
    state: str | None = None,
    iss: str | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """Where the upstream authorization server sends the browser back (public: the state
    binds it to a sign-in an administrator started)."""
    feature = auth_feature(request)
    if error or not code or not state:
        raise HTTPException(400, detail=f"upstream sign-in failed: {error or 'code and state are required'}")
    if not feature.upstream.complete_dashboard_login(code, state, iss):
        raise HTTPException(400, detail="unknown or expired sign-in state")
    return HTMLResponse("<p>Signed in. You can close this window.</p>")


@upstream.post("/{server}/device")
async def device_login(
    server: str,
    request: Request,
    body: LoginStart | None = None,
    admin: AdminPrincipal = Depends(require_admin("upstream_oauth.write")),
) -> dict[str, Any]:
    """Start a device-code sign-in; returns the code to enter. Polling continues in the background."""
    feature = auth_feature(request)
    _check_name(server)
    shown: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def show(info: dict[str, Any]) -> None:
        if not shown.done():
            shown.set_result(info)

    async def run() -> None:
        try:
            await feature.upstream.device_login(server, body.url if body else None, show)
        except Exception as exc:
            if not shown.done():
                shown.set_exception(exc)

    task = asyncio.get_running_loop().create_task(run())
    feature.upstream._tasks.add(task)
    task.add_done_callback(feature.upstream._tasks.discard)
    try:
        info = await asyncio.wait_for(shown, timeout=30)
    except (TimeoutError, ValueError, GrantError) as exc:
        raise HTTPException(400, detail=f"cannot start device sign-in to {server}: {exc}") from None
    except Exception as exc:
        raise HTTPException(
            502, detail=f"device sign-in to {server} failed: {type(exc).__name__}: {exc}"
        ) from None
    await feature.events.emit("upstream_oauth.device_started", admin.username, target=server)
    return {"server": server, **info}


@upstream.post("/{server}/refresh")
async def refresh(
    server: str, request: Request, _: AdminPrincipal = Depends(require_admin("upstream_oauth.write"))
) -> dict[str, Any]:
    feature = auth_feature(request)
    refreshed = await feature.upstream.refresh(server)
    return {"refreshed": refreshed, **feature.upstream.status(server)}


@upstream.delete("/{server}")
async def sign_out(
    server: str, request: Request, admin: AdminPrincipal = Depends(require_admin("upstream_oauth.write"))
) -> dict[str, Any]:
    feature = auth_feature(request)
    if not feature.upstream.sign_out(server):
        raise HTTPException(404, detail=f"no stored sign-in for {server!r}")
    await feature.events.emit("upstream_oauth.sign_out", admin.username, target=server)
    return {"signed_out": server}


def _check_name(server: str) -> None:
    import re

    if not re.match(_SERVER, server):
        raise HTTPException(400, detail="server: letters, digits, '.', '_', '-' (max 128)")


router.include_router(upstream)
