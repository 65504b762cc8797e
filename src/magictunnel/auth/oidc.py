"""OpenID Connect sign-in for administrators: authorization code + PKCE (S256) against any
standards-compliant issuer. The ID token is verified against the issuer's JWKS (signature,
issuer, audience, expiry, nonce); a claim maps to admin roles.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from magictunnel.auth import pkce, roles
from magictunnel.auth.admin_service import AdminAuth, AuthError, LoginResult
from magictunnel.auth.jwks import JwksCache, JwksError, discover_issuer
from magictunnel.auth.settings import OidcProviderSettings

PENDING_TTL = 600.0


@dataclass
class _Pending:
    verifier: str
    nonce: str
    redirect_uri: str
    created: float


class OidcProvider:
    kind = "redirect"

    def __init__(
        self, settings: OidcProviderSettings, admin: AdminAuth, client: httpx.AsyncClient | None = None
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.admin = admin
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self._meta: dict[str, Any] | None = None
        self._jwks: JwksCache | None = None
        self._pending: dict[str, _Pending] = {}

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "issuer": self.settings.issuer,
            "login_url": f"/api/auth/oidc/{self.name}/login",
        }

    async def metadata(self) -> dict[str, Any]:
        if self._meta is None:
            try:
                meta = await discover_issuer(self._client, self.settings.issuer)
            except JwksError as exc:
                raise AuthError(502, f"OIDC provider {self.name}: {exc}") from None
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not meta.get(key):
                    raise AuthError(502, f"OIDC provider {self.name}: issuer metadata lacks {key}")
            self._meta = meta
            self._jwks = JwksCache(self.settings.issuer, str(meta["jwks_uri"]), client=self._client)
        return self._meta

    async def begin(self, redirect_uri: str) -> str:
        """The issuer URL to send the browser to."""
        meta = await self.metadata()
        now = time.time()
        self._pending = {k: v for k, v in self._pending.items() if now - v.created < PENDING_TTL}
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), pkce.new_verifier()
        redirect = self.settings.redirect_uri or redirect_uri
        self._pending[state] = _Pending(verifier, nonce, redirect, now)
        params = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": redirect,
            "scope": " ".join(self.settings.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce.challenge(verifier),
            "code_challenge_method": "S256",
        }
        return f"{meta['authorization_endpoint']}?{urlencode(params)}"

    async def complete(
        self, code: str, state: str, ip: str | None = None, user_agent: str | None = None
    ) -> LoginResult:
        pending = self._pending.pop(state, None)
        if pending is None or time.time() - pending.created > PENDING_TTL:
            raise AuthError(400, "unknown or expired sign-in state; start the sign-in again")
        meta = await self.metadata()
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.verifier,
            "client_id": self.settings.client_id,
        }
        auth = None
        if self.settings.client_secret:
            auth = httpx.BasicAuth(self.settings.client_id, self.settings.client_secret)
        try:
            response = await self._client.post(str(meta["token_endpoint"]), data=data, auth=auth)
        except httpx.HTTPError as exc:
            raise AuthError(502, f"OIDC provider {self.name}: token request failed: {exc}") from None
        if response.status_code != 200:
            raise AuthError(401, f"OIDC provider {self.name} refused the code: HTTP {response.status_code}")
        id_token = response.json().get("id_token")
        if not id_token:
            raise AuthError(502, f"OIDC provider {self.name} returned no id_token")
        claims = await self._verify(id_token, pending.nonce)
        return await self._sign_in(claims, ip, user_agent)

    async def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        assert self._jwks is not None
        try:
            claims = await self._jwks.decode(
                id_token,
                audience=self.settings.client_id,
                algorithms=["RS256", "ES256", "PS256", "EdDSA"],
                require=("exp", "iat", "sub", "iss", "aud"),
            )
        except (JwksError, jwt.PyJWTError) as exc:
            raise AuthError(401, f"OIDC provider {self.name}: ID token rejected: {exc}") from None
        if claims.get("nonce") != nonce:
            raise AuthError(401, f"OIDC provider {self.name}: ID token nonce does not match")
        return claims

    def map_roles(self, claims: dict[str, Any]) -> list[str]:
        raw = claims.get(self.settings.roles_claim) or []
        values = [raw] if isinstance(raw, str) else [str(v) for v in raw] if isinstance(raw, list) else []
        mapped = {self.settings.role_mapping[v] for v in values if v in self.settings.role_mapping}
        mapped |= {v for v in values if v in roles.ADMIN_ROLES and not self.settings.role_mapping}
        if not mapped and self.settings.default_role:
            mapped.add(self.settings.default_role)
        return sorted(r for r in mapped if r in roles.ADMIN_ROLES)

    async def _sign_in(self, claims: dict[str, Any], ip: str | None, user_agent: str | None) -> LoginResult:
        username = str(claims.get(self.settings.username_claim) or claims.get("email") or claims["sub"])
        user_roles = self.map_roles(claims)
        provider = f"oidc:{self.name}"
        store = self.admin.store
        user = await store.get_user(username)
        if not user_roles:
            await self.admin.events.emit("login", username, "denied", provider=provider, reason="no role")
            raise AuthError(
                403,
                f"{username} signed in with {self.name} but no admin role is mapped "
                f"from claim {self.settings.roles_claim!r}",
            )
        if user is None:
            user = await store.create_user(username, None, user_roles, provider)
        elif user.provider != provider:
            raise AuthError(409, f"user {username!r} exists with provider {user.provider}; not linking")
        elif user.disabled:
            raise AuthError(403, f"user {username!r} is disabled")
        else:
            await store.update_user(username, roles=user_roles)
            user = await store.get_user(username)
            assert user is not None
        result = await self.admin.create_session(user, provider, ip, user_agent)
        await self.admin.events.emit("login", username, "success", method=provider)
        return result
