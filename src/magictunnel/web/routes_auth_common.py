"""Helpers shared by the auth route modules."""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import HTTPException, Request, Response

from magictunnel.auth.admin_authn import CSRF_COOKIE, SESSION_COOKIE
from magictunnel.auth.admin_service import AuthError, LoginResult
from magictunnel.web.deps import get_gateway


def auth_feature(request: Request) -> Any:
    feature = get_gateway(request).extensions.get("auth")
    if feature is None or feature.store is None:
        raise HTTPException(503, detail="the auth service is not running")
    return feature


def raise_auth(exc: AuthError) -> NoReturn:
    raise HTTPException(exc.status, detail=exc.message, headers=exc.headers or None) from None


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def secure_cookies(request: Request, feature: Any) -> bool:
    configured = feature.settings.cookie_secure
    if configured is not None:
        return bool(configured)
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip() == "https"


def set_session_cookies(response: Response, request: Request, feature: Any, result: LoginResult) -> None:
    secure = secure_cookies(request, feature)
    max_age = int(feature.settings.session_ttl_seconds)
    response.set_cookie(
        SESSION_COOKIE,
        result.session_token,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    # readable by the dashboard's script, which echoes it in X-CSRF-Token
    response.set_cookie(
        CSRF_COOKIE,
        result.csrf_token,
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def login_body(result: LoginResult) -> dict[str, Any]:
    from magictunnel.auth.admin_service import public_user

    return {
        "user": public_user(result.user),
        "access_token": result.access_token,
        "token_type": "Bearer",
        "expires_at": result.expires_at,
        "csrf_token": result.csrf_token,
        "must_change_password": bool(result.user.must_change_password),
    }
