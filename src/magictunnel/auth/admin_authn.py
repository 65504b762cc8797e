"""The admin authenticator installed as `app.state.admin_authenticator`.

Accepted, in order: the configured break-glass admin token (bearer), an admin JWT (bearer),
the session cookie (state-changing requests must echo the CSRF token in `X-CSRF-Token`).
Then the user's roles must allow the operation.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from fastapi import HTTPException, Request

from magictunnel.auth import roles
from magictunnel.auth.admin_service import AdminAuth, ResolvedSession
from magictunnel.web.deps import AdminPrincipal

SESSION_COOKIE = "mt_session"
CSRF_COOKIE = "mt_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# operations a user who must change their password may still perform
PASSWORD_CHANGE_OPERATIONS = frozenset({"auth.self", "auth.self.password"})


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class AdminAuthenticator:
    def __init__(self, admin: AdminAuth, gateway: Any) -> None:
        self.admin = admin
        self.gateway = gateway

    def _break_glass(self) -> str | None:
        return self.gateway.config.security.admin_token or os.environ.get("MAGICTUNNEL_ADMIN_TOKEN")

    async def resolve(self, request: Request) -> ResolvedSession | AdminPrincipal | None:
        token = bearer(request)
        if token is not None:
            expected = self._break_glass()
            if expected and hmac.compare_digest(token.encode(), expected.encode()):
                return AdminPrincipal(
                    username="admin-token", roles=(roles.SYSTEM_ADMIN,), method="admin_token"
                )
            return await self.admin.resolve_jwt(token)
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        resolved = await self.admin.resolve_cookie(cookie)
        if (
            resolved is not None
            and request.method.upper() not in SAFE_METHODS
            and not self.admin.check_csrf(resolved, request.headers.get(CSRF_HEADER))
        ):
            raise HTTPException(
                403,
                detail="CSRF token missing or wrong: send the value of the "
                f"{CSRF_COOKIE} cookie in the X-CSRF-Token header",
            )
        return resolved

    async def __call__(self, request: Request, operation: str) -> AdminPrincipal | None:
        resolved = await self.resolve(request)
        if resolved is None:
            return None
        if isinstance(resolved, AdminPrincipal):
            request.state.admin_session = None
            return resolved
        user = resolved.user
        op = roles.normalize(operation)
        if user.must_change_password and op not in PASSWORD_CHANGE_OPERATIONS:
            raise HTTPException(403, detail="password change required: POST /api/auth/password first")
        if not roles.roles_allow(list(user.roles or []), op, self.admin.settings.roles):
            raise HTTPException(
                403, detail=f"role(s) {', '.join(user.roles or []) or 'none'} may not perform {operation}"
            )
        request.state.admin_session = resolved
        return AdminPrincipal(
            username=user.username,
            roles=tuple(user.roles or ()),
            method=resolved.via,
            attributes={"provider": user.provider},
        )
