"""A client's credential authenticates it to MagicTunnel and stops there: the upstream MCP
server behind MagicTunnel never sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from magictunnel.web.app import create_app
from tests.auth.conftest import CAPS, make_gateway, serve


class HeaderRecorder:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.authorization: list[str | None] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/mcp"):
            headers = dict(scope["headers"])
            self.authorization.append((headers.get(b"authorization") or b"").decode() or None)
        await self.app(scope, receive, send)


@pytest.mark.timeout(300)
@pytest.mark.anyio
async def test_client_token_is_not_forwarded_upstream(tmp_path: Path, sqlite_url: str) -> None:
    caps = tmp_path / "caps"
    caps.mkdir()
    (caps / "basic.yaml").write_text(CAPS)
    upstream_gw = make_gateway(
        tmp_path / "upstream", f"sqlite:///{tmp_path / 'up.db'}", registry={"paths": [str(caps)]}
    )
    recorder = HeaderRecorder(create_app(upstream_gw))
    async with serve(recorder) as upstream_base:
        front = make_gateway(
            tmp_path / "front",
            sqlite_url,
            auth={"enabled": True},
            security={"admin_token": "front-admin-0123456789"},
            external_mcp={"servers": {"up": {"type": "http", "url": f"{upstream_base}/mcp"}}},
        )
        async with serve(create_app(front)) as base:
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": "Bearer front-admin-0123456789"}
            ) as admin:
                key = (await admin.post("/api/auth/api-keys", json={"name": "agent"})).json()["key"]
            await front.extensions["upstream_manager"].connections["up"].wait_ready(60)
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
            async with Client(
                streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy"
            ) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                upstream_echo = next(n for n in names if n != "echo" and n.endswith("echo"))
                result = await client.call_tool(upstream_echo, {"message": "via upstream"})
                assert result.content[0].text.strip() == "via upstream"
    assert recorder.authorization, "the upstream saw no MCP traffic"
    assert all(key not in (value or "") for value in recorder.authorization)
    assert set(recorder.authorization) == {None}
