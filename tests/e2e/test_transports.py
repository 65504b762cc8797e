"""The official SDK client drives a real gateway process over every transport and both eras."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.support.gateway import RunningGateway, basic_workdir, run_gateway
from tests.support.ws_client import websocket_client

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    workdir = basic_workdir(tmp_path_factory.mktemp("gw"))
    with run_gateway(workdir) as gw:
        yield gw


def _client(gw: RunningGateway, transport: str, mode: str) -> Client:
    if transport == "streamable_http":
        return Client(streamable_http_client(gw.mcp_url), mode=mode)
    if transport == "sse":
        return Client(sse_client(f"{gw.base_url}/sse"), mode=mode)
    if transport == "websocket":
        return Client(websocket_client(gw.ws_url), mode=mode)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "magictunnel", "stdio"], cwd=str(gw.workdir)
    )
    return Client(params, mode=mode)


CASES = [
    ("streamable_http", "legacy"),
    ("streamable_http", MODERN),
    ("sse", "legacy"),
    ("websocket", "legacy"),
    ("websocket", MODERN),
    ("stdio", "legacy"),
    ("stdio", MODERN),
]


@asynccontextmanager
async def connected(gw: RunningGateway, transport: str, mode: str) -> AsyncIterator[Client]:
    async with _client(gw, transport, mode) as client:
        yield client


@pytest.mark.parametrize(("transport", "mode"), CASES)
async def test_tools_prompts_resources(gateway: RunningGateway, transport: str, mode: str) -> None:
    async with connected(gateway, transport, mode) as client:
        if mode == MODERN:
            assert client.protocol_version == MODERN
        else:
            assert client.protocol_version != MODERN
        names = [t.name for t in (await client.list_tools()).tools]
        assert "echo" in names
        assert "secret_tool" not in names  # hidden: not listed...
        result = await client.call_tool("secret_tool", {})  # ...but callable
        assert not result.is_error
        assert result.content[0].text.strip() == "hidden ok"

        result = await client.call_tool("echo", {"message": f"hello over {transport}"})
        assert not result.is_error
        assert result.content[0].text.strip() == f"hello over {transport}"
        assert result.structured_content == {
            "stdout": f"hello over {transport}\n",
            "stderr": "",
            "exit_code": 0,
        }

        bad = await client.call_tool("echo", {})
        assert bad.is_error
        assert "message" in bad.content[0].text and "required" in bad.content[0].text

        disabled = await client.call_tool("disabled_tool", {})
        assert disabled.is_error and "disabled" in disabled.content[0].text

        with pytest.raises(MCPError, match="Unknown tool"):
            await client.call_tool("no_such_tool", {})

        prompts = await client.list_prompts()
        assert [p.name for p in prompts.prompts] == ["greet"]
        prompt = await client.get_prompt("greet", {"who": "Ada"})
        assert prompt.messages[0].content.text == "Say hello to Ada"

        resources = await client.list_resources()
        assert [str(r.uri) for r in resources.resources] == ["note://readme"]
        read = await client.read_resource("note://readme")
        assert read.contents[0].text == "hello resource"
        with pytest.raises(MCPError, match="not found"):
            await client.read_resource("note://missing")

        if mode != MODERN:  # ping is a handshake-era method
            await client.send_ping()
        completion = await client.complete(
            {"type": "ref/prompt", "name": "greet"}, {"name": "who", "value": "A"}
        )
        assert completion.completion.values == []


async def test_pagination(tmp_path: Path) -> None:
    workdir = tmp_path
    caps = workdir / "capabilities"
    caps.mkdir()
    lines = ["tools:"]
    for i in range(25):
        lines += [
            f"  - name: tool_{i:02d}",
            "    description: numbered tool",
            "    routing: {type: subprocess, config: {command: echo, args: ['x']}}",
        ]
    (caps / "many.yaml").write_text("\n".join(lines))
    with run_gateway(workdir, {"server": {"list_page_size": 10}}) as gw:
        async with Client(gw.mcp_url, mode="legacy") as client:
            page = await client.list_tools()
            seen = [t.name for t in page.tools]
            pages = 1
            while page.next_cursor:
                page = await client.list_tools(cursor=page.next_cursor)
                seen += [t.name for t in page.tools]
                pages += 1
            assert pages == 3
            assert len(seen) == len(set(seen))  # no tool twice across pages
            assert [n for n in seen if n.startswith("tool_")] == [f"tool_{i:02d}" for i in range(25)]
            with pytest.raises(MCPError, match="Invalid cursor"):
                await client.list_tools(cursor="garbage!")


async def test_a_websocket_client_that_hangs_up_leaves_no_traceback(gateway: RunningGateway) -> None:
    from websockets.asyncio.client import connect

    init = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
    )
    for _ in range(5):
        async with connect(gateway.ws_url, subprotocols=["mcp"]) as ws:
            await ws.send(init)
            assert '"result"' in await ws.recv()
    async with Client(websocket_client(gateway.ws_url)) as client:  # a normal session still works
        assert any(t.name == "echo" for t in (await client.list_tools()).tools)
    assert "Traceback" not in gateway.log()
