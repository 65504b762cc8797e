"""Real MCP servers from npm behind a real gateway process, used with the Python SDK client over
Streamable HTTP: @modelcontextprotocol/server-everything (stdio and streamableHttp),
server-filesystem and server-memory. Tools, prompts, resources, subscriptions, sampling,
elicitation and roots are forwarded both ways."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client

from tests.support.gateway import run_gateway
from tests.support.node_tools import NODE_BIN_DIR, node22_env, package_path
from tests.upstream.conftest import _wait_port, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def server_js(package: str) -> str:
    return str(package_path("npm-servers", f"@modelcontextprotocol/{package}") / "dist" / "index.js")


class Recorder:
    def __init__(self) -> None:
        self.sampled: list[Any] = []
        self.elicited: list[Any] = []
        self.updates: list[str] = []

    async def sampling(self, ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        self.sampled.append(params)
        return types.CreateMessageResult(
            role="assistant",
            model="test-model",
            content=types.TextContent(type="text", text="sampled by the client"),
        )

    async def elicitation(self, ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicited.append(params)
        return types.ElicitResult(action="accept", content={"name": "Ada Lovelace"})

    async def roots(self, ctx: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri="file:///client/root", name="client-root")])

    async def message(self, message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            self.updates.append(str(message.params.uri))


@pytest.fixture
def everything_http() -> Any:
    port = free_port()
    proc = subprocess.Popen(
        [str(NODE_BIN_DIR / "node"), server_js("server-everything"), "streamableHttp"],
        env=node22_env({"PORT": str(port)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


def test_npm_servers_through_the_gateway(tmp_path: Path, everything_http: str) -> None:
    node = str(NODE_BIN_DIR / "node")
    files = tmp_path / "files"
    files.mkdir()
    (files / "hello.txt").write_text("hello from the filesystem server")
    config = {
        "registry": {"paths": [], "hot_reload": False},
        "storage": {"data_dir": str(tmp_path / "data")},
        "external_mcp": {
            "config_file": None,
            "startup_wait": 60,
            "servers": {
                "ev": {"command": node, "args": [server_js("server-everything"), "stdio"]},
                "evhttp": {"type": "http", "url": everything_http},
                "fs": {"command": node, "args": [server_js("server-filesystem"), str(files)]},
                "mem": {
                    "command": node,
                    "args": [server_js("server-memory")],
                    "env": {"MEMORY_FILE_PATH": str(tmp_path / "memory.jsonl")},
                },
            },
        },
    }
    rec = Recorder()

    async def scenario(url: str) -> None:
        async with Client(
            url,
            mode="legacy",
            sampling_callback=rec.sampling,
            elicitation_callback=rec.elicitation,
            list_roots_callback=rec.roots,
            message_handler=rec.message,
        ) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert {"ev_echo", "evhttp_get-sum", "fs_read_text_file", "mem_create_entities"} <= tools

            echo = await client.call_tool("ev_echo", {"message": "hi there"})
            assert "hi there" in echo.content[0].text  # type: ignore[union-attr]
            total = await client.call_tool("evhttp_get-sum", {"a": 20, "b": 22})
            assert "42" in total.content[0].text  # type: ignore[union-attr]

            read = await client.call_tool("fs_read_text_file", {"path": str(files / "hello.txt")})
            assert "hello from the filesystem server" in read.content[0].text  # type: ignore[union-attr]
            await client.call_tool(
                "mem_create_entities",
                {
                    "entities": [
                        {
                            "name": "MagicTunnel",
                            "entityType": "gateway",
                            "observations": ["fronts MCP servers"],
                        }
                    ]
                },
            )
            graph = await client.call_tool("mem_read_graph", {})
            assert "fronts MCP servers" in graph.content[0].text  # type: ignore[union-attr]

            sampled = await client.call_tool(
                "ev_trigger-sampling-request", {"prompt": "say hi", "maxTokens": 20}
            )
            assert "sampled by the client" in sampled.content[0].text  # type: ignore[union-attr]
            assert rec.sampled
            elicited = await client.call_tool("evhttp_trigger-elicitation-request", {})
            assert rec.elicited and "Ada Lovelace" in " ".join(
                getattr(c, "text", "") for c in elicited.content
            )
            roots = await client.call_tool("ev_get-roots-list", {})
            assert "file:///client/root" in roots.content[0].text  # type: ignore[union-attr]

            prompts = {p.name for p in (await client.list_prompts()).prompts}
            assert {"ev_simple-prompt", "evhttp_args-prompt"} <= prompts
            prompt = await client.get_prompt("ev_args-prompt", {"city": "Paris"})
            assert "Paris" in str(prompt.messages[0].content)
            doc = await client.read_resource("demo://resource/static/document/features.md")
            assert doc.contents and doc.contents[0].text  # type: ignore[union-attr]
            dynamic = await client.read_resource("demo://resource/dynamic/text/7")
            assert dynamic.contents

            uri = "demo://resource/dynamic/text/1"
            await client.subscribe_resource(uri)
            await client.call_tool("ev_toggle-subscriber-updates", {})
            with anyio.fail_after(30):
                while uri not in rec.updates:
                    await anyio.sleep(0.2)
            await client.call_tool("ev_toggle-subscriber-updates", {})

    with run_gateway(
        tmp_path, config, timeout=90, env={"PATH": f"{NODE_BIN_DIR}{os.pathsep}{os.environ['PATH']}"}
    ) as gw:
        anyio.run(scenario, gw.mcp_url)
