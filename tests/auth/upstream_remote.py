"""Helpers for the upstream OAuth tests against the protected remote MCP server of conftest.py."""

from __future__ import annotations

from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from magictunnel.auth.settings import UpstreamOAuthSettings
from magictunnel.auth.upstream.manager import UpstreamOAuth
from magictunnel.auth.vault import Vault
from tests.auth.conftest import Remote


def oauth_manager(tmp_path: Path, remote: Remote, **settings: object) -> UpstreamOAuth:
    vault = Vault.open(tmp_path / "client-vault")
    cfg = UpstreamOAuthSettings.model_validate({"redirect_uri": "http://127.0.0.1:9/callback", **settings})
    return UpstreamOAuth(lambda: vault, cfg, {"remote": remote.url}.get)


async def echo_with(auth: httpx2.Auth, url: str) -> str:
    http = httpx2.AsyncClient(auth=auth, timeout=30)
    async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
        result = await client.call_tool("echo", {"message": "upstream"})
    return result.content[0].text.strip()
