"""Shared FastAPI dependencies: the gateway, the caller's identity, admin authorization.

Admin endpoints depend on `require_admin(operation)`. Until admin users exist, an admin
is whoever presents the configured admin token (`security.admin_token` or the environment
variable MAGICTUNNEL_ADMIN_TOKEN) as `Authorization: Bearer`. With no token configured the
admin API is closed, never open by default.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request

from magictunnel.core.gateway import Gateway


def get_gateway(request: Request) -> Gateway:
    return request.app.state.gateway


@dataclass
class AdminPrincipal:
    username: str
    roles: tuple[str, ...] = ("system-admin",)
    method: str = "admin_token"
    attributes: dict[str, Any] = field(default_factory=dict)


AdminAuthenticator = Callable[[Request, str], Awaitable[AdminPrincipal | None]]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def token_authenticator(request: Request, operation: str) -> AdminPrincipal | None:
    gateway = get_gateway(request)
    expected = gateway.config.security.admin_token or os.environ.get("MAGICTUNNEL_ADMIN_TOKEN")
    token = _bearer(request)
    if expected and token and hmac.compare_digest(token.encode(), expected.encode()):
        return AdminPrincipal(username="admin-token")
    return None


def require_admin(operation: str = "admin") -> Callable[[Request], Awaitable[AdminPrincipal]]:
    """Dependency: an authenticated administrator allowed to perform `operation`."""

    async def dependency(request: Request) -> AdminPrincipal:
        authenticator: AdminAuthenticator = (
            getattr(request.app.state, "admin_authenticator", None)
            or get_gateway(request).extensions.get("admin_authenticator")  # the auth feature's
            or token_authenticator
        )
        principal = await authenticator(request, operation)
        if principal is None:
            raise HTTPException(
                status_code=401,
                detail="admin authentication required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        request.state.admin = principal
        return principal

    dependency.__name__ = f"require_admin_{operation.replace('.', '_').replace(':', '_')}"
    dependency.magictunnel_admin_operation = operation  # type: ignore[attr-defined]
    return dependency
