"""Driver for the official MCP conformance suite's client auth scenarios.

The suite runs `python tests/auth/conformance_client.py <server-url>` with
MCP_CONFORMANCE_SCENARIO (and MCP_CONFORMANCE_CONTEXT for pre-registered credentials).
The driver uses MagicTunnel's upstream OAuth client (UpstreamOAuth: vault-backed token
storage, client metadata, pre-registered credentials / CIMD / dynamic registration) with a
headless "browser" that follows the authorization redirect, then initializes, lists tools
and calls the first tool.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult

from magictunnel.auth.settings import UpstreamOAuthSettings
from magictunnel.auth.upstream.discovery import discover
from magictunnel.auth.upstream.manager import UpstreamOAuth
from magictunnel.auth.vault import Vault

CIMD_URL = "https://conformance-test.local/client-metadata.json"
SERVER = "conformance"


async def main(server_url: str) -> int:
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    server_cfg: dict[str, object] = {}
    tmp_key = Path(tempfile.mkdtemp()) / "client-key.pem"
    if context.get("idp_id_token"):  # SEP-990 cross-app access (enterprise-managed authorization)
        id_token = Path(tempfile.mkdtemp()) / "id-token.jwt"
        id_token.write_text(context["idp_id_token"])
        async with httpx.AsyncClient() as probe:  # as an administrator would: read the server's PRM
            issuer = (await discover(probe, server_url)).issuer
        server_cfg = {
            "grant_type": "identity_assertion",
            "client_id": context["client_id"],
            "client_secret": context["client_secret"],
            "authorization_server": issuer,
            "identity_provider": {
                "token_endpoint": context["idp_token_endpoint"],
                "client_id": context["idp_client_id"],
                "id_token_file": str(id_token),
            },
        }
    elif scenario.startswith("auth/client-credentials"):
        server_cfg = {"grant_type": "client_credentials", "client_id": context["client_id"]}
        if context.get("private_key_pem"):
            tmp_key.write_text(context["private_key_pem"])
            server_cfg.update(
                private_key_file=str(tmp_key), signing_algorithm=context.get("signing_algorithm", "RS256")
            )
        else:
            server_cfg["client_secret"] = context.get("client_secret")
    elif context.get("client_id"):
        server_cfg = {
            "client_id": context["client_id"],
            "client_secret": context.get("client_secret"),
            "token_endpoint_auth_method": "client_secret_basic" if context.get("client_secret") else "none",
        }
    settings = UpstreamOAuthSettings.model_validate(
        {
            "client_name": "MagicTunnel conformance driver",
            "client_metadata_url": CIMD_URL,
            "redirect_uri": "http://127.0.0.1:3999/callback",
            "servers": {SERVER: server_cfg} if server_cfg else {},
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        vault = Vault.open(Path(tmp))
        manager = UpstreamOAuth(lambda: vault, settings, {SERVER: server_url}.get)
        landing: dict[str, str] = {}

        async def open_browser(url: str) -> None:
            async with httpx.AsyncClient() as browser:
                response = await browser.get(url)
            if response.status_code not in (301, 302, 303, 307, 308):
                raise RuntimeError(
                    f"authorization endpoint answered {response.status_code}: {response.text[:200]}"
                )
            landing["location"] = response.headers["location"]

        async def read_redirect() -> AuthorizationCodeResult:
            params = httpx.URL(landing["location"]).params
            if "code" not in params:
                raise RuntimeError(f"authorization failed: {dict(params)}")
            return AuthorizationCodeResult(
                code=params["code"], state=params.get("state"), iss=params.get("iss")
            )

        auth = manager.provider(SERVER, server_url, open_browser, read_redirect)
        http = httpx2.AsyncClient(auth=auth, timeout=30)
        async with Client(streamable_http_client(server_url, http_client=http), mode="legacy") as client:
            tools = await client.list_tools()
            print(f"{scenario}: {len(tools.tools)} tool(s)")
            if tools.tools:
                result = await client.call_tool(tools.tools[0].name, {})
                print(f"called {tools.tools[0].name}: error={result.is_error}")
        print(json.dumps(manager.status(SERVER)))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
