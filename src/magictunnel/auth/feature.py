"""The auth feature: installs the `auth` service and publishes its objects.

gateway.extensions:
    "auth"                  this AuthFeature (admin users, API keys, providers, ...)
    "client_auth"           ClientAuthenticator for every MCP transport
    "admin_authenticator"   used by web/deps.require_admin
    "vault"                 get_secret(name) -> str | None
    "upstream_oauth"        UpstreamOAuth (auth_for / get_token / httpx_auth)
    "notifications"         Notifications (notify(...))
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from magictunnel.auth.admin_authn import AdminAuthenticator
from magictunnel.auth.admin_service import AdminAuth
from magictunnel.auth.apikeys import ApiKeys
from magictunnel.auth.client_auth import ClientAuthenticator
from magictunnel.auth.events import AuthEvents
from magictunnel.auth.exposure import check_exposure
from magictunnel.auth.notifications import Notifications
from magictunnel.auth.oidc import OidcProvider
from magictunnel.auth.providers import AuthProvider, LocalProvider
from magictunnel.auth.resource_server import ResourceServer
from magictunnel.auth.settings import AuthSettings, data_dir
from magictunnel.auth.store import AuthStore
from magictunnel.auth.upstream.manager import UpstreamOAuth
from magictunnel.auth.vault import Vault
from magictunnel.core.periodic import Periodic
from magictunnel.core.services import ServiceSpec

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway

log = logging.getLogger("magictunnel.auth")

SESSION_SECRET = "__system__/session_secret"


class NotStarted(RuntimeError):
    def __init__(self) -> None:
        super().__init__("the auth service is not running")


class AuthFeature:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.settings = AuthSettings.from_config(gateway.config, gateway.loaded.source_name)
        self.events = AuthEvents(gateway)
        self._vault: Vault | None = None
        self.store: AuthStore | None = None
        self._admin: AdminAuth | None = None
        self.api_keys: ApiKeys | None = None
        self._notifications: Notifications | None = None
        self.providers: dict[str, AuthProvider] = {}
        cfg = gateway.config.server
        self.resource_server = ResourceServer(
            self.settings.oauth, f"{cfg.host}:{cfg.port}", trusted_hosts=list(cfg.allowed_hosts)
        )
        self.client_auth = ClientAuthenticator(
            None,
            self.resource_server,
            self.settings.client_auth_required(gateway.mode),
            self.settings.api_keys_enabled,
        )
        self.upstream = UpstreamOAuth(
            lambda: self.vault, self.settings.upstream_oauth, self._server_url, self._notify
        )
        self.admin_authenticator: AdminAuthenticator | None = None
        self.generated_password: str | None = None
        self._purger: Periodic | None = None

    # ---- parts ---------------------------------------------------------------------------
    @property
    def vault(self) -> Vault:
        if self._vault is None:
            base = data_dir(self.gateway.config, self.gateway.base_dir)
            vs = self.settings.vault
            key_file = self.gateway.base_dir / vs.key_file if vs.key_file else None
            path = self.gateway.base_dir / vs.path if vs.path else None
            self._vault = Vault.open(base, key_file, path)
        return self._vault

    def get_secret(self, name: str) -> str | None:
        return self.vault.get_secret(name)

    @property
    def admin(self) -> AdminAuth:
        if self._admin is None:
            raise NotStarted()
        return self._admin

    @property
    def notifications(self) -> Notifications:
        if self._notifications is None:
            raise NotStarted()
        return self._notifications

    def _server_url(self, server: str) -> str | None:
        spec = self.gateway.config.external_mcp.servers.get(server) or {}
        url = spec.get("url") if isinstance(spec, dict) else None
        return str(url) if url else None

    async def _notify(self, *args: Any, **kwargs: Any) -> Any:
        if self._notifications is not None:
            return await self._notifications.notify(*args, **kwargs)
        return None

    # ---- lifecycle -----------------------------------------------------------------------
    async def open_core(self) -> AuthFeature:
        """Database, vault and the admin/API-key services (what the CLI needs)."""
        if self._admin is not None:
            return self
        storage = self.gateway.extensions["storage"]
        await storage.start()
        self.store = AuthStore(storage)
        secret = self.vault.ensure_random(SESSION_SECRET)
        self._admin = AdminAuth(self.store, self.settings, secret, self.events)
        self.generated_password = await self._admin.bootstrap()
        self.api_keys = ApiKeys(self.store, self.events)
        self.client_auth.api_keys = self.api_keys
        return self

    async def start(self) -> AuthFeature:
        check_exposure(self.gateway.config, self.settings)
        await self.open_core()
        assert self.store is not None and self._admin is not None
        self._notifications = Notifications(self.store)
        self._notifications.start_watching(
            self.gateway.services,
            lambda: self.gateway.extensions.get("audit"),
            self.settings.notification_poll_seconds,
        )
        self.providers = {"local": LocalProvider(self._admin)}
        for oidc in self.settings.oidc:
            self.providers[oidc.name] = OidcProvider(oidc, self._admin)
        self.admin_authenticator = AdminAuthenticator(self._admin, self.gateway)
        self.gateway.extensions["admin_authenticator"] = self.admin_authenticator
        self.upstream.start()
        self._purger = Periodic("auth-session-purge", 3600.0, self._purge_sessions, run_first=True)
        self._purger.start()
        log.info(
            "auth ready: client auth %s, %d admin provider(s)",
            "required" if self.client_auth.required else "optional on loopback",
            len(self.providers),
        )
        return self

    async def _purge_sessions(self) -> None:
        """Forget sessions that expired more than a day ago (revocation only matters until expiry)."""
        if self.store is not None:
            await self.store.purge_sessions(time.time() - 86400)

    async def stop(self) -> None:
        if self._purger is not None:
            await self._purger.stop()
            self._purger = None
        self.gateway.extensions.pop("admin_authenticator", None)
        await self.upstream.stop()
        if self._notifications is not None:
            await self._notifications.stop()
        if self.resource_server.jwks is not None:
            await self.resource_server.jwks.aclose()


def install(gateway: Gateway) -> AuthFeature:
    feature = AuthFeature(gateway)
    gateway.extensions["auth"] = feature
    gateway.extensions["client_auth"] = feature.client_auth
    gateway.extensions["vault"] = feature
    gateway.extensions["upstream_oauth"] = feature.upstream
    gateway.extensions["notifications"] = _LazyNotifications(feature)
    gateway.services.add(
        ServiceSpec(
            "auth",
            feature.start,
            feature.stop,
            description="administrators, MCP client credentials, vault, OAuth",
        )
    )
    return feature


class _LazyNotifications:
    """`notify()` for other features, usable before the auth service has started (dropped then)."""

    def __init__(self, feature: AuthFeature) -> None:
        self.feature = feature

    async def notify(
        self,
        title: str,
        message: str = "",
        severity: str = "info",
        category: str = "system",
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        if self.feature._notifications is None:
            log.warning("notification before auth start dropped: %s", title)
            return None
        return await self.feature._notifications.notify(title, message, severity, category, data)
