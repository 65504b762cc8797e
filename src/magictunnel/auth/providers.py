"""How administrators prove who they are: the `AuthProvider` interface and the local provider.

Providers turn credentials (or a redirect round-trip) into an admin user; `AdminAuth` then
opens the session. `kind` tells the dashboard how to sign in: "password" or "redirect".
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from magictunnel.auth.admin_service import AdminAuth, LoginResult


@runtime_checkable
class AuthProvider(Protocol):
    name: str
    kind: str  # "password" | "redirect"

    def describe(self) -> dict[str, Any]: ...


class LocalProvider:
    """Users with argon2 password hashes in the database."""

    name = "local"
    kind = "password"

    def __init__(self, admin: AdminAuth) -> None:
        self.admin = admin

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind}

    async def login(
        self, username: str, password: str, ip: str | None = None, user_agent: str | None = None
    ) -> LoginResult:
        return await self.admin.login(username, password, ip, user_agent)
