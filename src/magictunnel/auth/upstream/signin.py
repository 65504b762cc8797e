"""Interactive sign-in to an upstream server: authorization code + PKCE (CLI or dashboard)
and the device authorization grant (RFC 8628). Mixed into `UpstreamOAuth`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

import httpx
import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult

from magictunnel.auth.upstream import grants
from magictunnel.auth.upstream.discovery import discover

if TYPE_CHECKING:
    from magictunnel.auth.upstream.tokens import VaultTokenStorage

log = logging.getLogger("magictunnel.auth.upstream_oauth")

INIT_BODY = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "magictunnel", "version": "0"},
    },
}


class SignInMixin:
    settings: Any
    _pending: dict[str, asyncio.Future[AuthorizationCodeResult]]
    _tasks: set[asyncio.Task[Any]]

    if TYPE_CHECKING:  # provided by UpstreamOAuth

        def provider(
            self,
            server: str,
            url: str | None = None,
            redirect_handler: Any = None,
            callback_handler: Any = None,
            redirect_uri: str | None = None,
        ) -> httpx2.Auth: ...

        def storage(self, server: str) -> VaultTokenStorage: ...

        def url_of(self, server: str, url: str | None = None) -> str: ...

        def status(self, server: str) -> dict[str, Any]: ...

        def server_settings(self, server: str) -> Any: ...

        @staticmethod
        def _store_token_response(storage: VaultTokenStorage, body: dict[str, Any], **extra: Any) -> None: ...

    def _remember_endpoints(self, server: str, provider: httpx2.Auth) -> None:
        if not isinstance(provider, OAuthClientProvider):  # identity_assertion: found again on renewal
            return
        ctx = provider.context
        meta = ctx.oauth_metadata
        fields: dict[str, Any] = {"resource": ctx.get_resource_url()}
        if meta is not None:
            fields["token_endpoint"] = str(meta.token_endpoint)
            fields["issuer"] = str(meta.issuer)
        self.storage(server).update(**fields)

    async def login_code(
        self,
        server: str,
        url: str | None,
        redirect_handler: Callable[[str], Awaitable[None]],
        callback_handler: Callable[[], Awaitable[AuthorizationCodeResult]],
        redirect_uri: str | None = None,
    ) -> dict[str, Any]:
        """Authorization code + PKCE: the handlers show the URL and wait for the redirect."""
        provider = self.provider(server, url, redirect_handler, callback_handler, redirect_uri)
        async with httpx2.AsyncClient(auth=provider, timeout=60.0, follow_redirects=False) as client:
            response = await client.post(
                self.url_of(server, url),
                json=INIT_BODY,
                headers={
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2025-11-25",
                },
            )
            await response.aclose()
        self._remember_endpoints(server, provider)
        status = self.status(server)
        if not status["signed_in"]:
            raise grants.GrantError(
                f"sign-in to {server} did not produce a token (HTTP {response.status_code})"
            )
        return status

    async def start_dashboard_login(self, server: str, url: str | None, redirect_uri: str) -> str:
        """Begin a sign-in driven by the browser; returns the authorization URL to open."""
        url_future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        state_holder: dict[str, str] = {}

        async def on_redirect(auth_url: str) -> None:
            state = (parse_qs(urlparse(auth_url).query).get("state") or [""])[0]
            state_holder["state"] = state
            self._pending[state] = asyncio.get_running_loop().create_future()
            url_future.set_result(auth_url)

        async def on_callback() -> AuthorizationCodeResult:
            return await asyncio.wait_for(self._pending[state_holder["state"]], timeout=600)

        async def run() -> None:
            try:
                await self.login_code(server, url, on_redirect, on_callback, redirect_uri)
            except Exception as exc:
                if not url_future.done():
                    url_future.set_exception(exc)
                log.warning("dashboard sign-in to %s failed: %s", server, exc)
            finally:
                self._pending.pop(state_holder.get("state", ""), None)

        task = asyncio.get_running_loop().create_task(run(), name=f"upstream-login-{server}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return await asyncio.wait_for(url_future, timeout=60)

    def complete_dashboard_login(self, code: str, state: str, iss: str | None = None) -> bool:
        future = self._pending.get(state)
        if future is None or future.done():
            return False
        future.set_result(AuthorizationCodeResult(code=code, state=state, iss=iss))
        return True

    async def device_login(
        self,
        server: str,
        url: str | None,
        show: Callable[[dict[str, Any]], Awaitable[None] | None],
        max_wait: float | None = None,
    ) -> dict[str, Any]:
        """RFC 8628 device authorization grant for hosts without a browser."""
        storage = self.storage(server)
        cfg = self.server_settings(server)
        async with httpx.AsyncClient(timeout=20.0) as client:
            info = await discover(client, self.url_of(server, url))
            client_info = storage.record().get("client_info") or (
                storage.preregistered.model_dump(exclude_none=True) if storage.preregistered else None
            )
            if client_info is None:
                endpoint = info.metadata.get("registration_endpoint")
                if not endpoint:
                    raise grants.GrantError(
                        f"{server}: no client_id configured and the authorization server "
                        "offers no dynamic registration"
                    )
                client_info = await grants.register(
                    client, str(endpoint), self.settings.client_name, [grants.DEVICE_GRANT, "refresh_token"]
                )
                storage.update(client_info=client_info)
            scope = " ".join(cfg.scopes) or info.challenged_scope or (" ".join(info.scopes_supported) or None)
            body = await grants.device_flow(
                client, info.metadata, client_info, scope, info.resource, show, max_wait
            )
        self._store_token_response(
            storage, body, token_endpoint=info.token_endpoint, issuer=info.issuer, resource=info.resource
        )
        return self.status(server)
