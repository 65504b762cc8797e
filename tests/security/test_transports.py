"""Every door into the gateway walks the security pipeline: Streamable HTTP, SSE, WebSocket, stdio,
REST and smart discovery; per-client tools/list; lockdown blocks all of them."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import yaml
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from tests.security.conftest import ADMIN_TOKEN, make_config
from tests.security.helpers import serve
from tests.support.ws_client import websocket_client

from magictunnel.core.gateway import Gateway
from magictunnel.web.app import create_app

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CAPS = """
tools:
  - name: say
    description: Say a message back
    inputSchema: {type: object, properties: {message: {type: string}}, required: [message]}
    routing: {type: subprocess, config: {command: echo, args: ["{message}"]}}
  - name: wipe_disk
    description: Erase every file on the disk
    inputSchema: {type: object, properties: {}}
    routing: {type: subprocess, config: {command: echo, args: ["wiped"]}}
prompts:
  - name: greet
    description: Greeting prompt
    arguments: [{name: who, required: true}]
    messages: [{role: user, content: "Say hello to {who}"}]
resources:
  - {uri: "note://public", name: public, mime_type: text/plain, text: "for everyone"}
  - {uri: "note://public-draft", name: draft, mime_type: text/plain, text: "not yet"}
  - {uri: "note://payroll", name: payroll, mime_type: text/plain, text: "salaries"}
"""


@dataclass
class Env:
    base: str
    key: str
    gateway: Gateway
    workdir: Path


@pytest.fixture
async def env(tmp_path: Path, db_url: str) -> AsyncIterator[Env]:
    caps = tmp_path / "caps"
    caps.mkdir()
    (caps / "basic.yaml").write_text(CAPS)
    from magictunnel.config.loader import LoadedConfig

    config = make_config(tmp_path, db_url, registry={"paths": [str(caps)]}, smart_discovery={"enabled": True})
    (tmp_path / "magictunnel-config.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json")))
    gateway = Gateway(LoadedConfig(config, None), base_dir=tmp_path)
    async with serve(create_app(gateway)) as base, httpx.AsyncClient(base_url=base, headers=ADMIN) as admin:
        r = await admin.post(
            "/api/security/rbac/roles",
            json={
                "name": "talker",
                "permissions": [
                    "tool:say",
                    "tool:smart_tool_discovery",
                    "prompt:*",
                    "resource:note://public*",
                ],
            },
        )
        assert r.status_code == 201, r.text
        r = await admin.post(
            "/api/security/allowlist/rules",
            json={
                "name": "no-drafts",
                "kind": "resource",
                "match_type": "glob",
                "pattern": "*-draft",
                "action": "deny",
            },
        )
        assert r.status_code == 201, r.text
        r = await admin.post(
            "/api/auth/api-keys", json={"name": "agent", "client_id": "agent-1", "roles": ["talker"]}
        )
        assert r.status_code == 201, r.text
        yield Env(base, r.json()["key"], gateway, tmp_path)


def clients(env: Env) -> dict[str, Client]:
    auth = {"Authorization": f"Bearer {env.key}"}
    return {
        "streamable_http": Client(
            streamable_http_client(
                f"{env.base}/mcp", http_client=httpx2.AsyncClient(headers=auth, timeout=30)
            ),
            mode="legacy",
        ),
        "sse": Client(sse_client(f"{env.base}/sse", headers=auth), mode="legacy"),
        "websocket": Client(
            websocket_client(env.base.replace("http://", "ws://") + "/mcp/ws", headers=auth), mode="legacy"
        ),
        "stdio": Client(
            StdioServerParameters(
                command=sys.executable, args=["-m", "magictunnel", "stdio"], cwd=str(env.workdir)
            ),
            mode="legacy",
        ),
    }


async def call_everywhere(env: Env, tool: str, arguments: dict[str, Any]) -> dict[str, tuple[bool, str]]:
    out = {}
    for name, client in clients(env).items():
        async with client:
            result = await client.call_tool(tool, arguments)
            out[name] = (bool(result.is_error), result.content[0].text)
    async with httpx.AsyncClient(base_url=env.base, headers={"Authorization": f"Bearer {env.key}"}) as http:
        r = await http.post(f"/api/tools/{tool}/call", json=arguments)
        assert r.status_code == 200, r.text
        body = r.json()
        out["rest"] = (bool(body.get("isError")), body["content"][0]["text"])
    return out


@pytest.mark.anyio
async def test_rbac_filters_lists_and_lockdown_blocks_every_door(env: Env) -> None:
    async with clients(env)["streamable_http"] as client:
        names = sorted(t.name for t in (await client.list_tools()).tools)
        assert "say" in names and "wipe_disk" not in names
        denied = await client.call_tool("wipe_disk", {})
        assert denied.is_error and "Denied by rbac (rule 'no-permission')" in denied.content[0].text

    before = await call_everywhere(env, "say", {"message": "hello"})
    assert {door: (err, text.strip()) for door, (err, text) in before.items()} == {
        door: (False, "hello") for door in ("streamable_http", "sse", "websocket", "stdio", "rest")
    }

    async with httpx.AsyncClient(base_url=env.base, headers=ADMIN) as admin:
        r = await admin.post("/api/security/lockdown/activate", json={"reason": "incident 42"})
        assert r.status_code == 200 and r.json()["active"] is True
    # (the stdio client starts its own gateway process on the same database: the switch is persisted)
    during = await call_everywhere(env, "say", {"message": "hello"})
    for door, (is_error, text) in during.items():
        assert (
            is_error and "Denied by lockdown (rule 'emergency-lockdown')" in text and "incident 42" in text
        ), door
    async with clients(env)["streamable_http"] as client:
        found = await client.call_tool("smart_tool_discovery", {"request": "say hello"})
        assert found.is_error and "emergency-lockdown" in found.content[0].text

    async with httpx.AsyncClient(base_url=env.base, headers=ADMIN) as admin:
        await admin.post("/api/security/lockdown/deactivate")
        entries = (await admin.get("/api/security/audit/violations", params={"limit": 100})).json()["entries"]
    transports = {e["transport"] for e in entries if e["rule"] == "emergency-lockdown"}
    assert {"streamable_http", "sse", "websocket", "stdio", "rest"} <= transports
    agent = [e for e in entries if e["client_id"] == "agent-1"]
    assert agent and all(e["outcome"] == "denied" for e in agent)


@pytest.mark.anyio
async def test_prompts_and_resources_per_client(env: Env) -> None:
    from mcp.shared.exceptions import MCPError

    async with clients(env)["websocket"] as client:
        assert [p.name for p in (await client.list_prompts()).prompts] == ["greet"]
        assert "hello to Ann" in str((await client.get_prompt("greet", {"who": "Ann"})).messages[0].content)
        assert [str(r.uri) for r in (await client.list_resources()).resources] == ["note://public"]
        assert (await client.read_resource("note://public")).contents[0].text == "for everyone"
        with pytest.raises(MCPError, match=r"Denied by rbac \(rule 'no-permission'\)"):
            await client.read_resource("note://payroll")
        with pytest.raises(MCPError, match=r"Denied by allowlist \(rule 'no-drafts'\)"):
            await client.read_resource("note://public-draft")
    async with httpx.AsyncClient(base_url=env.base, headers=ADMIN) as admin:
        entries = (await admin.get("/api/security/audit/entries", params={"event_type": "access"})).json()[
            "entries"
        ]
    assert sorted((e["rule"], e["client_id"], e["transport"]) for e in entries) == [
        ("no-drafts", "agent-1", "websocket"),
        ("no-permission", "agent-1", "websocket"),
    ]


@pytest.mark.anyio
async def test_sigterm_ends_a_stdio_session_cleanly_and_keeps_its_audit(env: Env) -> None:
    """A client's shutdown escalation (or `docker stop`) sends SIGTERM: the stdio gateway stops the
    way end of input stops it, exit code 0, its audit entries in the database."""
    async with httpx.AsyncClient(base_url=env.base, headers=ADMIN) as admin:
        r = await admin.post("/api/security/lockdown/activate", json={"reason": "drill"})
        assert r.status_code == 200
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "magictunnel",
        "stdio",
        cwd=str(env.workdir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None

    async def rpc(message: dict[str, Any]) -> dict[str, Any] | None:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}).encode() + b"\n")
        await proc.stdin.drain()
        return json.loads(await proc.stdout.readline()) if "id" in message else None

    info = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    assert "result" in (await rpc({"id": 1, "method": "initialize", "params": info}) or {})
    await rpc({"method": "notifications/initialized"})
    reply = await rpc(
        {"id": 2, "method": "tools/call", "params": {"name": "say", "arguments": {"message": "x"}}}
    )
    assert reply is not None and "Denied by lockdown" in reply["result"]["content"][0]["text"]
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    assert "Traceback" not in (await proc.stderr.read()).decode()
    async with httpx.AsyncClient(base_url=env.base, headers=ADMIN) as admin:
        entries = (await admin.get("/api/security/audit/violations")).json()["entries"]
    assert [(e["transport"], e["tool"], e["rule"]) for e in entries] == [
        ("stdio", "say", "emergency-lockdown")
    ]
