"""Administrator authentication and user management: /api/auth/..."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from magictunnel.auth.admin_service import AuthError, public_user
from magictunnel.web.deps import AdminPrincipal, require_admin
from magictunnel.web.routes_auth_common import (
    auth_feature,
    clear_session_cookies,
    client_ip,
    login_body,
    raise_auth,
    set_session_cookies,
)

auth_router = APIRouter(prefix="/api/auth", tags=["auth"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Body):
    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class PasswordChange(_Body):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)


class PasswordReset(_Body):
    new_password: str = Field(min_length=1, max_length=1000)


class UserCreate(_Body):
    username: str = Field(min_length=1, max_length=200)
    password: str | None = Field(default=None, max_length=1000)
    roles: list[str] = Field(min_length=1)
    provider: str = "local"


class UserUpdate(_Body):
    disabled: bool | None = None
    roles: list[str] | None = None
    unlock: bool = False


@auth_router.get("/providers")
async def providers(request: Request) -> dict[str, Any]:
    """Sign-in methods (public: the login page needs them)."""
    feature = auth_feature(request)
    return {"providers": [p.describe() for p in feature.providers.values()]}


@auth_router.post("/login")
async def login(body: LoginRequest, request: Request, response: Response) -> dict[str, Any]:
    feature = auth_feature(request)
    try:
        result = await feature.providers["local"].login(
            body.username, body.password, client_ip(request), request.headers.get("user-agent")
        )
    except AuthError as exc:
        raise_auth(exc)
    set_session_cookies(response, request, feature, result)
    return login_body(result)


@auth_router.post("/logout")
async def logout(
    request: Request, response: Response, admin: AdminPrincipal = Depends(require_admin("auth.self"))
) -> dict[str, Any]:
    feature = auth_feature(request)
    resolved = getattr(request.state, "admin_session", None)
    if resolved is not None:
        await feature.admin.logout(resolved)
    clear_session_cookies(response)
    return {"logged_out": True, "username": admin.username}


@auth_router.get("/current-user")
async def current_user(
    request: Request, admin: AdminPrincipal = Depends(require_admin("auth.self"))
) -> dict[str, Any]:
    resolved = getattr(request.state, "admin_session", None)
    if resolved is None:
        return {
            "username": admin.username,
            "roles": list(admin.roles),
            "method": admin.method,
            "must_change_password": False,
        }
    return {
        **public_user(resolved.user),
        "method": admin.method,
        "session_expires_at": resolved.session.expires_at,
    }


@auth_router.post("/password")
async def change_own_password(
    body: PasswordChange,
    request: Request,
    admin: AdminPrincipal = Depends(require_admin("auth.self.password")),
) -> dict[str, Any]:
    feature = auth_feature(request)
    resolved = getattr(request.state, "admin_session", None)
    if resolved is None:
        raise HTTPException(400, detail="the admin token has no password; sign in as a user")
    try:
        await feature.admin.change_password(
            admin.username,
            body.current_password,
            body.new_password,
            admin.username,
            keep_session=resolved.session.id_hash,
        )
    except AuthError as exc:
        raise_auth(exc)
    return {"changed": True}


@auth_router.get("/users")
async def list_users(
    request: Request, _: AdminPrincipal = Depends(require_admin("auth.users.read"))
) -> dict[str, Any]:
    feature = auth_feature(request)
    return {"users": [public_user(u) for u in await feature.store.list_users()]}


@auth_router.post("/users", status_code=201)
async def create_user(
    body: UserCreate, request: Request, admin: AdminPrincipal = Depends(require_admin("auth.users.write"))
) -> dict[str, Any]:
    feature = auth_feature(request)
    try:
        user = await feature.admin.create_user(
            body.username, body.password, body.roles, admin.username, body.provider
        )
    except AuthError as exc:
        raise_auth(exc)
    return public_user(user)


@auth_router.get("/users/{username}")
async def get_user(
    username: str, request: Request, _: AdminPrincipal = Depends(require_admin("auth.users.read"))
) -> dict[str, Any]:
    user = await auth_feature(request).store.get_user(username)
    if user is None:
        raise HTTPException(404, detail=f"no user named {username!r}")
    return public_user(user)


@auth_router.patch("/users/{username}")
async def update_user(
    username: str,
    body: UserUpdate,
    request: Request,
    admin: AdminPrincipal = Depends(require_admin("auth.users.write")),
) -> dict[str, Any]:
    try:
        user = await auth_feature(request).admin.update_user(
            username, admin.username, disabled=body.disabled, user_roles=body.roles, unlock=body.unlock
        )
    except AuthError as exc:
        raise_auth(exc)
    return public_user(user)


@auth_router.post("/users/{username}/password")
async def reset_password(
    username: str,
    body: PasswordReset,
    request: Request,
    admin: AdminPrincipal = Depends(require_admin("auth.users.write")),
) -> dict[str, Any]:
    try:
        await auth_feature(request).admin.change_password(username, None, body.new_password, admin.username)
    except AuthError as exc:
        raise_auth(exc)
    return {"changed": True, "must_change_password": username != admin.username}


@auth_router.delete("/users/{username}")
async def delete_user(
    username: str, request: Request, admin: AdminPrincipal = Depends(require_admin("auth.users.write"))
) -> dict[str, Any]:
    try:
        await auth_feature(request).admin.delete_user(username, admin.username)
    except AuthError as exc:
        raise_auth(exc)
    return {"deleted": username}


@auth_router.get("/oidc/{name}/login")
async def oidc_login(name: str, request: Request) -> RedirectResponse:
    """Start an OpenID Connect sign-in (public: it only redirects to the issuer)."""
    provider = _oidc(request, name)
    redirect_uri = str(request.url_for("oidc_callback", name=name))
    try:
        url = await provider.begin(redirect_uri)
    except AuthError as exc:
        raise_auth(exc)
    return RedirectResponse(url, status_code=302)


@auth_router.get("/oidc/{name}/callback", name="oidc_callback")
async def oidc_callback(
    name: str, request: Request, code: str | None = None, state: str | None = None, error: str | None = None
) -> RedirectResponse:
    provider = _oidc(request, name)
    if error or not code or not state:
        raise HTTPException(
            400, detail=f"sign-in with {name} failed: {error or 'code and state are required'}"
        )
    feature = auth_feature(request)
    try:
        result = await provider.complete(code, state, client_ip(request), request.headers.get("user-agent"))
    except AuthError as exc:
        raise_auth(exc)
    response = RedirectResponse("/dashboard", status_code=303)
    set_session_cookies(response, request, feature, result)
    return response


def _oidc(request: Request, name: str) -> Any:
    provider = auth_feature(request).providers.get(name)
    if provider is None or provider.kind != "redirect":
        raise HTTPException(404, detail=f"no OpenID Connect provider named {name!r}")
    return provider


def _all_routers() -> APIRouter:
    from magictunnel.web import (
        routes_auth_apikeys,
        routes_auth_navigation,
        routes_auth_oauth,
        routes_auth_vault,
        routes_notifications,
    )

    combined = APIRouter()
    combined.include_router(auth_router)
    for module in (
        routes_auth_apikeys,
        routes_auth_oauth,
        routes_auth_vault,
        routes_notifications,
        routes_auth_navigation,
    ):
        combined.include_router(module.router)
    return combined


# everything the auth feature serves; listed once in web/app.py ROUTERS
router = _all_routers()
