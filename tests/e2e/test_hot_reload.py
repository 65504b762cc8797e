"""Editing capability files updates the catalog and notifies every connected session."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from tests.support.gateway import basic_workdir, run_gateway
from tests.support.ws_client import websocket_client

pytestmark = pytest.mark.anyio

NEW_TOOL = """
tools:
  - name: added_tool
    description: Appeared by hot reload
    routing: {type: subprocess, config: {command: echo, args: ["added"]}}
"""


async def test_list_changed_reaches_every_transport(tmp_path: Path) -> None:
    workdir = basic_workdir(tmp_path)
    notified: dict[str, anyio.Event] = {k: anyio.Event() for k in ("streamable_http", "sse", "websocket")}

    def handler_for(name: str):
        async def on_message(message: object) -> None:
            root = getattr(message, "root", message)
            if getattr(root, "method", None) == "notifications/tools/list_changed":
                notified[name].set()

        return on_message

    with run_gateway(workdir) as gw:
        async with (
            Client(
                streamable_http_client(gw.mcp_url),
                mode="legacy",
                message_handler=handler_for("streamable_http"),
            ) as http_client,
            Client(
                sse_client(f"{gw.base_url}/sse"), mode="legacy", message_handler=handler_for("sse")
            ) as sse_c,
            Client(
                websocket_client(gw.ws_url), mode="legacy", message_handler=handler_for("websocket")
            ) as ws_c,
        ):
            for client in (http_client, sse_c, ws_c):
                assert "added_tool" not in [t.name for t in (await client.list_tools()).tools]
            (workdir / "capabilities" / "new.yaml").write_text(NEW_TOOL)
            with anyio.fail_after(10):
                for event in notified.values():
                    await event.wait()
            for client in (http_client, sse_c, ws_c):
                assert "added_tool" in [t.name for t in (await client.list_tools()).tools]
            result = await http_client.call_tool("added_tool", {})
            assert result.content[0].text.strip() == "added"

            # removing the file removes the tool again
            for event_name in notified:
                notified[event_name] = anyio.Event()
            (workdir / "capabilities" / "new.yaml").unlink()
            with anyio.fail_after(10):
                for event in notified.values():
                    await event.wait()
            assert "added_tool" not in [t.name for t in (await ws_c.list_tools()).tools]


async def test_bad_file_is_reported_and_skipped(tmp_path: Path) -> None:
    workdir = basic_workdir(tmp_path)
    (workdir / "capabilities" / "broken.yaml").write_text("tools:\n  - name: 'bad name!'\n    routing: {}\n")
    with run_gateway(workdir, {"security": {"admin_token": "status-admin"}}) as gw:
        async with Client(gw.mcp_url, mode="legacy") as client:
            names = [t.name for t in (await client.list_tools()).tools]
            assert "echo" in names  # the good file still loaded
        import httpx

        async with httpx.AsyncClient() as http:
            anonymous = (await http.get(f"{gw.base_url}/api/status")).json()
            status = (
                await http.get(f"{gw.base_url}/api/status", headers={"Authorization": "Bearer status-admin"})
            ).json()
        # anyone sees that a file has a problem; only an administrator sees which and why
        assert anonymous["capability_problems"] >= 1 and "broken.yaml" not in str(anonymous)
        problems = status["capability_problems"]
        assert any("broken.yaml" in p and "tools[0]" in p for p in problems), problems
        # smart discovery: how its second stage runs, once the gateway has warmed up (the helper
        # process starts after the first index build); its details are for administrators only
        async with httpx.AsyncClient() as http:
            with anyio.fail_after(90):
                while True:
                    admin_view = (
                        await http.get(
                            f"{gw.base_url}/api/status", headers={"Authorization": "Bearer status-admin"}
                        )
                    ).json()["discovery"]
                    if admin_view["second_stage"] == "helper":
                        break
                    await anyio.sleep(0.2)
            anonymous = (await http.get(f"{gw.base_url}/api/status")).json()
        assert admin_view["helper"]["state"] == "ready" and admin_view["helper"]["pid"] > 0
        assert admin_view["indexed_tools"] >= 1 and admin_view["last_error"] is None
        assert anonymous["discovery"]["second_stage"] == "helper"
        assert "helper" not in anonymous["discovery"] and anonymous["discovery"]["last_error"] is False
