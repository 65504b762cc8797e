"""Administrators: first-start bootstrap, login with lock-out, sessions, users.

A login creates one session. The browser gets it as a signed HttpOnly cookie (plus a CSRF
token it must echo on state changes); API clients get a short-lived HS256 JWT whose `jti`
names the same session, so logout revokes both at once.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sys
import time
from dataclasses import dataclass
from typing import Any

import jwt

from magictunnel.auth import passwords, roles
from magictunnel.auth.events import AuthEvents
from magictunnel.auth.ratelimit import SlidingWindowLimiter
from magictunnel.auth.settings import AuthSettings
from magictunnel.auth.store import AuthStore
from magictunnel.storage.models.auth import AdminSessionRow, AdminUserRow

ADMIN_PASSWORD_ENV = "MAGICTUNNEL_ADMIN_PASSWORD"
JWT_ISSUER = "magictunnel"
JWT_AUDIENCE = "magictunnel-admin"


class AuthError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class LoginResult:
    user: AdminUserRow
    session_token: str  # cookie value
    csrf_token: str
    access_token: str  # bearer JWT
    expires_at: float


@dataclass
class ResolvedSession:
    user: AdminUserRow
    session: AdminSessionRow
    via: str  # "cookie" or "jwt"


def _hash_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def public_user(user: AdminUserRow) -> dict[str, Any]:
    return {
        "username": user.username,
        "roles": list(user.roles or []),
        "provider": user.provider,
        "disabled": bool(user.disabled),
        "must_change_password": bool(user.must_change_password),
        "locked": bool(user.locked_until and user.locked_until > time.time()),
        "created_at": user.created_at,
        "last_login_at": user.last_login_at,
    }


class AdminAuth:
    def __init__(
        self, store: AuthStore, settings: AuthSettings, secret: str, events: AuthEvents | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self._secret = secret.encode()
        self.events = events or AuthEvents()
        self.ip_limiter = SlidingWindowLimiter(
            settings.login.ip_max_attempts, settings.login.ip_window_seconds
        )

    # ---- bootstrap -----------------------------------------------------------------------
    async def bootstrap(self, out: Any = None) -> str | None:
        """Create `admin` when no administrator exists. Returns the generated password, if any."""
        if await self.store.count_users() > 0:
            return None
        from_env = os.environ.get(ADMIN_PASSWORD_ENV)
        password = from_env or passwords.generate_password()
        await self.store.create_user(
            "admin", passwords.hash_password(password), [roles.SYSTEM_ADMIN], must_change_password=True
        )
        await self.events.emit("user.bootstrap", "admin", source="env" if from_env else "generated")
        if from_env:
            return None
        stream = out or sys.stderr
        print("\n" + "=" * 64, file=stream)
        print("MagicTunnel created the administrator account 'admin'.", file=stream)
        print(f"Initial password (shown once, change it at first login): {password}", file=stream)
        print("=" * 64 + "\n", file=stream, flush=True)
        return password

    # ---- tokens --------------------------------------------------------------------------
    def _sign(self, value: str) -> str:
        return hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()[:43]

    def _cookie_value(self, session_id: str) -> str:
        return f"{session_id}.{self._sign(session_id)}"

    def _unsign_cookie(self, value: str) -> str | None:
        session_id, _, sig = value.rpartition(".")
        if not session_id or not hmac.compare_digest(sig, self._sign(session_id)):
            return None
        return session_id

    def _jwt(self, user: AdminUserRow, id_hash: str, session_expires: float) -> str:
        now = time.time()
        claims = {
            "iss": JWT_ISSUER,
            "aud": JWT_AUDIENCE,
            "sub": user.username,
            "jti": id_hash,
            "iat": int(now),
            "exp": int(min(session_expires, now + self.settings.admin_jwt_ttl_seconds)),
            "roles": list(user.roles or []),
        }
        return jwt.encode(claims, self._secret, algorithm="HS256")

    async def create_session(
        self, user: AdminUserRow, method: str, ip: str | None = None, user_agent: str | None = None
    ) -> LoginResult:
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        now = time.time()
        expires = now + self.settings.session_ttl_seconds
        id_hash = _hash_id(session_id)
        await self.store.add_session(
            AdminSessionRow(
                id_hash=id_hash,
                username=user.username,
                method=method,
                csrf_token=csrf,
                created_at=now,
                expires_at=expires,
                ip=ip,
                user_agent=(user_agent or "")[:500],
            )
        )
        await self.store.update_user(user.username, last_login_at=now, failed_attempts=0, locked_until=None)
        return LoginResult(
            user, self._cookie_value(session_id), csrf, self._jwt(user, id_hash, expires), expires
        )

    async def _live(self, id_hash: str, via: str) -> ResolvedSession | None:
        session = await self.store.get_session(id_hash)
        if session is None or session.revoked_at is not None or session.expires_at <= time.time():
            return None
        user = await self.store.get_user(session.username)
        if user is None or user.disabled:
            return None
        return ResolvedSession(user, session, via)

    async def resolve_cookie(self, value: str) -> ResolvedSession | None:
        session_id = self._unsign_cookie(value)
        return await self._live(_hash_id(session_id), "cookie") if session_id else None

    async def resolve_jwt(self, token: str) -> ResolvedSession | None:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=JWT_AUDIENCE,
                issuer=JWT_ISSUER,
                options={"require": ["exp", "jti", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        resolved = await self._live(str(claims["jti"]), "jwt")
        if resolved is None or resolved.user.username != claims["sub"]:
            return None
        return resolved

    def check_csrf(self, resolved: ResolvedSession, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented or "", resolved.session.csrf_token)

    # ---- login ---------------------------------------------------------------------------
    async def login(
        self, username: str, password: str, ip: str | None = None, user_agent: str | None = None
    ) -> LoginResult:
        wait = self.ip_limiter.hit(ip or "unknown")
        if wait is not None:
            await self.events.emit("login", username, "rate_limited", ip=ip)
            raise AuthError(
                429,
                f"too many login attempts; retry in {int(wait) + 1} s",
                {"Retry-After": str(int(wait) + 1)},
            )
        user = await self.store.get_user(username)
        now = time.time()
        if user is not None and user.locked_until and user.locked_until > now:
            passwords.verify_password(passwords.DUMMY_HASH, password)
            await self.events.emit("login", username, "locked", ip=ip)
            raise AuthError(
                423, f"account locked after repeated failures; retry in {int(user.locked_until - now) + 1} s"
            )
        ok = (
            user is not None
            and user.password_hash is not None
            and not user.disabled
            and passwords.verify_password(user.password_hash, password)
        )
        if user is None or user.password_hash is None:
            passwords.verify_password(passwords.DUMMY_HASH, password)
        if not ok:
            if user is not None and not user.disabled:
                failures = (user.failed_attempts or 0) + 1
                fields: dict[str, Any] = {"failed_attempts": failures}
                if failures >= self.settings.login.max_attempts:
                    fields = {"failed_attempts": 0, "locked_until": now + self.settings.login.lockout_seconds}
                    await self.events.emit("user.locked", username, "locked", ip=ip)
                await self.store.update_user(username, **fields)
            await self.events.emit("login", username, "failure", ip=ip)
            raise AuthError(401, "invalid user name or password")
        assert user is not None and user.password_hash is not None
        if passwords.needs_rehash(user.password_hash):
            await self.store.update_user(username, password_hash=passwords.hash_password(password))
        self.ip_limiter.reset(ip or "unknown")
        result = await self.create_session(user, "password", ip, user_agent)
        await self.events.emit("login", username, "success", ip=ip, method="password")
        return result

    async def logout(self, resolved: ResolvedSession) -> None:
        await self.store.revoke_session(resolved.session.id_hash)
        await self.events.emit("logout", resolved.user.username)

    # ---- users ---------------------------------------------------------------------------
    async def change_password(
        self, username: str, current: str | None, new: str, actor: str, keep_session: str | None = None
    ) -> None:
        user = await self.store.get_user(username)
        if user is None:
            raise AuthError(404, f"no user named {username!r}")
        if user.provider != "local":
            raise AuthError(400, f"user {username!r} signs in with {user.provider}; it has no local password")
        if actor == username:
            if (
                not current
                or not user.password_hash
                or not passwords.verify_password(user.password_hash, current)
            ):
                await self.events.emit("password.change", actor, "failure", target=username)
                raise AuthError(403, "current password is wrong")
            if current == new:
                raise AuthError(400, "new password must differ from the current one")
        problem = passwords.check_strength(new, username)
        if problem:
            raise AuthError(400, problem)
        await self.store.update_user(
            username, password_hash=passwords.hash_password(new), must_change_password=actor != username
        )
        await self.store.revoke_user_sessions(username, keep=keep_session if actor == username else None)
        await self.events.emit("password.change", actor, target=username)

    async def create_user(
        self, username: str, password: str | None, user_roles: list[str], actor: str, provider: str = "local"
    ) -> AdminUserRow:
        if not username or len(username) > 200 or not all(c.isalnum() or c in "._-@" for c in username):
            raise AuthError(400, "username: 1-200 characters of letters, digits, '.', '_', '-', '@'")
        problem = roles.check_roles(user_roles)
        if problem:
            raise AuthError(400, f"roles: {problem}")
        if await self.store.get_user(username) is not None:
            raise AuthError(409, f"user {username!r} already exists")
        password_hash = None
        if provider == "local":
            if not password:
                raise AuthError(400, "password: required for a local user")
            problem = passwords.check_strength(password, username)
            if problem:
                raise AuthError(400, f"password: {problem}")
            password_hash = passwords.hash_password(password)
        user = await self.store.create_user(
            username, password_hash, user_roles, provider, must_change_password=provider == "local"
        )
        await self.events.emit("user.create", actor, target=username, roles=user_roles)
        return user

    async def update_user(
        self,
        username: str,
        actor: str,
        *,
        disabled: bool | None = None,
        user_roles: list[str] | None = None,
        unlock: bool = False,
    ) -> AdminUserRow:
        user = await self.store.get_user(username)
        if user is None:
            raise AuthError(404, f"no user named {username!r}")
        fields: dict[str, Any] = {}
        if user_roles is not None:
            problem = roles.check_roles(user_roles)
            if problem:
                raise AuthError(400, f"roles: {problem}")
            if roles.SYSTEM_ADMIN in user.roles and roles.SYSTEM_ADMIN not in user_roles:
                await self._keep_one_admin(username)
            fields["roles"] = user_roles
        if disabled is not None:
            if disabled and username == actor:
                raise AuthError(400, "you cannot disable your own account")
            if disabled and roles.SYSTEM_ADMIN in user.roles:
                await self._keep_one_admin(username)
            fields["disabled"] = disabled
        if unlock:
            fields.update(failed_attempts=0, locked_until=None)
        if fields:
            await self.store.update_user(username, **fields)
        if disabled:
            await self.store.revoke_user_sessions(username)
        await self.events.emit(
            "user.update", actor, target=username, changes=sorted(k for k in fields if k != "updated_at")
        )
        updated = await self.store.get_user(username)
        assert updated is not None
        return updated

    async def delete_user(self, username: str, actor: str) -> None:
        user = await self.store.get_user(username)
        if user is None:
            raise AuthError(404, f"no user named {username!r}")
        if username == actor:
            raise AuthError(400, "you cannot delete your own account")
        if roles.SYSTEM_ADMIN in (user.roles or []):
            await self._keep_one_admin(username)
        await self.store.revoke_user_sessions(username)
        await self.store.delete_user(username)
        await self.events.emit("user.delete", actor, target=username)

    async def _keep_one_admin(self, leaving: str) -> None:
        others = [
            u
            for u in await self.store.list_users()
            if u.username != leaving and not u.disabled and roles.SYSTEM_ADMIN in (u.roles or [])
        ]
        if not others:
            raise AuthError(400, "at least one enabled system-admin must remain")
