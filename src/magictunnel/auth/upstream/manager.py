"""Upstream OAuth (published as `gateway.extensions["upstream_oauth"]`).

For the upstream-servers feature:
    upstream_oauth.auth_if_configured(server, url) -> httpx2.Auth | None  # None: no OAuth for it
    upstream_oauth.auth_for(server, url) -> httpx2.Auth   # SDK OAuthClientProvider over the vault
    await upstream_oauth.get_token(server) -> str | None  # a valid access token (refreshed if due)
    upstream_oauth.httpx_auth(server) -> httpx.Auth       # bearer from get_token, refresh on 401
`auth_for` never opens a browser: when a server needs a sign-in it raises
`UpstreamLoginRequired` naming the CLI command / dashboard page to use.
Sign-in: `login_code` (authorization code + PKCE, via CLI or dashboard), `device_login` (RFC 8628);
servers configured with `grant_type: client_credentials` (client secret or private_key_jwt) or
`grant_type: identity_assertion` (SEP-990: the user's ID token exchanged at the enterprise IdP for
a grant the authorization server accepts; identity_assertion.py) need none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.extensions.client_credentials import (
    ClientCredentialsOAuthProvider,
    PrivateKeyJWTOAuthProvider,
    SignedJWTParameters,
)
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata
from mcp.shared.auth_utils import resource_url_from_server_url

from magictunnel.auth.settings import UpstreamOAuthSettings, UpstreamServerOAuth
from magictunnel.auth.upstream import grants
from magictunnel.auth.upstream.identity_assertion import (
    fresh_token,
    identity_assertion_provider,
    token_endpoint_of,
)
from magictunnel.auth.upstream.signin import SignInMixin
from magictunnel.auth.upstream.tokens import VAULT_PREFIX, VaultTokenStorage
from magictunnel.core.periodic import Periodic

log = logging.getLogger("magictunnel.auth.upstream_oauth")

DEFAULT_REDIRECT = "http://127.0.0.1:3001/api/auth/upstream-oauth/callback"


class UpstreamLoginRequired(Exception):
    def __init__(self, server: str) -> None:
        super().__init__(
            f"upstream server {server!r} requires an OAuth sign-in: run "
            f"`magictunnel auth upstream login {server}` or use the dashboard"
        )
        self.server = server


class UpstreamOAuth(SignInMixin):
    def __init__(
        self,
        vault: Callable[[], Any],
        settings: UpstreamOAuthSettings,
        server_url: Callable[[str], str | None] | None = None,
        notify: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self._vault = vault
        self.settings = settings
        self._server_url = server_url or (lambda _name: None)
        self._notify = notify
        self._pending: dict[str, asyncio.Future[AuthorizationCodeResult]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._refresher: Periodic | None = None
        self._locks: dict[str, asyncio.Lock] = {}

    # ---- per-server pieces ---------------------------------------------------------------
    def server_settings(self, server: str) -> UpstreamServerOAuth:
        return self.settings.servers.get(server) or UpstreamServerOAuth()

    def storage(self, server: str) -> VaultTokenStorage:
        cfg = self.server_settings(server)
        pre = None
        if cfg.client_id:
            pre = OAuthClientInformationFull(
                client_id=cfg.client_id,
                client_secret=cfg.client_secret,
                token_endpoint_auth_method=cfg.token_endpoint_auth_method
                or ("client_secret_basic" if cfg.client_secret else "none"),
                redirect_uris=None,
            )
        return VaultTokenStorage(self._vault(), server, pre)

    def url_of(self, server: str, url: str | None = None) -> str:
        resolved = url or self._server_url(server)
        if not resolved:
            raise ValueError(f"no URL known for upstream server {server!r}")
        return resolved

    def client_metadata(self, server: str, redirect_uri: str | None = None) -> OAuthClientMetadata:
        cfg = self.server_settings(server)
        storage = self.storage(server)
        method = "client_secret_basic" if cfg.client_secret else "none"
        return OAuthClientMetadata(
            client_name=self.settings.client_name,
            redirect_uris=[redirect_uri or self.settings.redirect_uri or DEFAULT_REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method=cfg.token_endpoint_auth_method
            or (method if storage.preregistered else "none"),
            scope=" ".join(cfg.scopes) or None,
        )

    def _machine_provider(self, server: str, url: str | None) -> OAuthClientProvider:
        """client_credentials (secret or private_key_jwt): no person involved, no redirect."""
        cfg = self.server_settings(server)
        if not cfg.client_id:
            raise ValueError(f"upstream_oauth.servers.{server}: client_credentials needs client_id")
        storage = self.storage(server)
        scope = " ".join(cfg.scopes) or None
        pem = None
        if cfg.private_key_secret:
            pem = self._vault().get_secret(cfg.private_key_secret)
            if pem is None:
                raise ValueError(
                    f"upstream_oauth.servers.{server}.private_key_secret: no vault secret "
                    f"named {cfg.private_key_secret!r}"
                )
        elif cfg.private_key_file:
            try:
                pem = Path(cfg.private_key_file).expanduser().read_text()
            except OSError as exc:
                raise ValueError(f"upstream_oauth.servers.{server}.private_key_file: {exc}") from None
        if pem is not None:
            params = SignedJWTParameters(
                issuer=cfg.client_id,
                subject=cfg.client_id,
                signing_key=pem,
                signing_algorithm=cfg.signing_algorithm,
            )
            return PrivateKeyJWTOAuthProvider(
                self.url_of(server, url),
                storage,
                cfg.client_id,
                params.create_assertion_provider(),
                scope=scope,
                issuer=cfg.authorization_server,
            )
        if not cfg.client_secret:
            raise ValueError(
                f"upstream_oauth.servers.{server}: client_credentials needs client_secret or a private key"
            )
        method = cfg.token_endpoint_auth_method if cfg.token_endpoint_auth_method != "none" else None
        return ClientCredentialsOAuthProvider(
            self.url_of(server, url),
            storage,
            cfg.client_id,
            cfg.client_secret,
            method or "client_secret_basic",
            scope=scope,
            issuer=cfg.authorization_server,
        )

    def provider(
        self,
        server: str,
        url: str | None = None,
        redirect_handler: Callable[[str], Awaitable[None]] | None = None,
        callback_handler: Callable[[], Awaitable[AuthorizationCodeResult]] | None = None,
        redirect_uri: str | None = None,
    ) -> httpx2.Auth:
        cfg = self.server_settings(server)
        if cfg.grant_type == "client_credentials":
            return self._machine_provider(server, url)
        if cfg.grant_type == "identity_assertion":
            return identity_assertion_provider(
                server, self.url_of(server, url), cfg, self.storage(server), self._vault
            )
        return OAuthClientProvider(
            server_url=self.url_of(server, url),
            client_metadata=self.client_metadata(server, redirect_uri),
            storage=self.storage(server),
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
            client_metadata_url=self.settings.client_metadata_url,
        )

    def auth_for(self, server: str, url: str | None = None) -> httpx2.Auth:
        """Auth for the upstream connection; raises UpstreamLoginRequired instead of prompting."""

        async def need_login(_url: str) -> None:
            if self._notify is not None:
                with contextlib.suppress(Exception):
                    await self._notify(
                        f"upstream server {server} needs sign-in",
                        f"run `magictunnel auth upstream login {server}`",
                        "warning",
                        "upstream",
                    )
            raise UpstreamLoginRequired(server)

        async def no_callback() -> AuthorizationCodeResult:
            raise UpstreamLoginRequired(server)

        return self.provider(server, url, need_login, no_callback)

    def is_configured(self, server: str) -> bool:
        """True when the server has OAuth settings or a stored sign-in."""
        return server in self.settings.servers or bool(self.storage(server).record())

    def auth_if_configured(self, server: str, url: str | None = None) -> httpx2.Auth | None:
        """For the upstream connection: OAuth auth when this server uses OAuth, else None."""
        return self.auth_for(server, url) if self.is_configured(server) else None

    def httpx_auth(self, server: str) -> httpx.Auth:
        return _BearerFromManager(self, server)

    # ---- tokens --------------------------------------------------------------------------
    def _lock(self, server: str) -> asyncio.Lock:
        return self._locks.setdefault(server, asyncio.Lock())

    async def get_token(self, server: str, min_valid: float = 30.0) -> str | None:
        storage = self.storage(server)
        record = storage.record()
        tokens = record.get("tokens") or {}
        if not tokens.get("access_token"):
            return None
        expires_at = record.get("expires_at")
        if expires_at is not None and expires_at - time.time() < min_valid:
            if not await self.refresh(server):
                return None
            tokens = storage.record().get("tokens") or {}
        return tokens.get("access_token")

    async def refresh(self, server: str) -> bool:
        if self.server_settings(server).grant_type == "identity_assertion":
            return await self._reassert(server)
        async with self._lock(server):
            storage = self.storage(server)
            record = storage.record()
            tokens = record.get("tokens") or {}
            client_info = record.get("client_info") or (
                storage.preregistered.model_dump(exclude_none=True) if storage.preregistered else None
            )
            if not tokens.get("refresh_token") or not record.get("token_endpoint") or not client_info:
                return False
            async with httpx.AsyncClient(timeout=20.0) as client:
                try:
                    body = await grants.refresh(
                        client,
                        record["token_endpoint"],
                        client_info,
                        tokens["refresh_token"],
                        record.get("resource"),
                    )
                except grants.GrantError as exc:
                    log.warning("refresh for upstream server %s failed: %s", server, exc)
                    return False
            self._store_token_response(storage, body)
            log.info("refreshed OAuth token for upstream server %s", server)
            return True

    async def _reassert(self, server: str) -> bool:
        """identity_assertion: both legs again (ID-JAG grants carry no refresh token)."""
        cfg = self.server_settings(server)
        async with self._lock(server):
            storage = self.storage(server)
            record = storage.record()
            try:
                resource = record.get("resource") or resource_url_from_server_url(self.url_of(server))
                endpoint = record.get("token_endpoint")
                if not endpoint:
                    assert cfg.authorization_server is not None  # validated settings
                    async with httpx.AsyncClient(timeout=20.0) as client:
                        endpoint = await token_endpoint_of(client, cfg.authorization_server)
                body = await fresh_token(server, cfg, resource, endpoint, self._vault)
            except (grants.GrantError, ValueError) as exc:
                log.warning("new token for upstream server %s failed: %s", server, exc)
                return False
            self._store_token_response(
                storage, body, token_endpoint=endpoint, issuer=cfg.authorization_server, resource=resource
            )
            log.info("renewed the identity-assertion token for upstream server %s", server)
            return True

    @staticmethod
    def _store_token_response(storage: VaultTokenStorage, body: dict[str, Any], **extra: Any) -> None:
        previous = storage.record().get("tokens") or {}
        tokens = {
            k: body[k]
            for k in ("access_token", "token_type", "scope", "refresh_token", "expires_in")
            if body.get(k) is not None
        }
        tokens.setdefault("token_type", "Bearer")
        if "refresh_token" not in tokens and previous.get("refresh_token"):
            tokens["refresh_token"] = previous["refresh_token"]
        expires_at = time.time() + float(body["expires_in"]) if body.get("expires_in") else None
        storage.update(tokens=tokens, expires_at=expires_at, **extra)

    async def refresh_due(self) -> list[str]:
        """Refresh every stored token that expires within the margin; returns the servers refreshed."""
        refreshed = []
        for name in self._vault().names(VAULT_PREFIX):
            server = name[len(VAULT_PREFIX) :]
            record = self.storage(server).record()
            expires_at = record.get("expires_at")
            if expires_at is None or expires_at - time.time() > self.settings.refresh_margin_seconds:
                continue
            if await self.refresh(server):
                refreshed.append(server)
        return refreshed

    def start(self) -> None:
        self._refresher = Periodic(
            "upstream-oauth-refresh", self.settings.refresh_interval_seconds, self.refresh_due
        )
        self._refresher.start()

    async def stop(self) -> None:
        if self._refresher is not None:
            await self._refresher.stop()
            self._refresher = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def status(self, server: str) -> dict[str, Any]:
        return self.storage(server).status()

    def servers(self) -> list[dict[str, Any]]:
        names = {n[len(VAULT_PREFIX) :] for n in self._vault().names(VAULT_PREFIX)} | set(
            self.settings.servers
        )
        return [self.status(n) for n in sorted(names)]

    def sign_out(self, server: str) -> bool:
        return self._vault().delete(VAULT_PREFIX + server)


class _BearerFromManager(httpx.Auth):
    def __init__(self, manager: UpstreamOAuth, server: str) -> None:
        self.manager = manager
        self.server = server

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.manager.get_token(self.server)
        if token is None:
            raise UpstreamLoginRequired(self.server)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and await self.manager.refresh(self.server):
            token = await self.manager.get_token(self.server)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
