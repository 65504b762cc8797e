"""Smart discovery end to end: the official SDK client talks to a real gateway over Streamable HTTP and
stdio; plain-language requests run the right tool with the right arguments, low confidence returns
candidates, missing parameters are asked for by elicitation, the client's model re-ranks through
sampling, hidden tools are found and run, and tools a client may not call are never returned."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import mcp_types as types
import pytest
import yaml
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from tests.discovery.test_feature import CAPABILITIES
from tests.support.gateway import RunningGateway, run_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]

# The request names no file on purpose (so a parameter is missing); that also makes the ranker less
# sure of read_file than of a request with a path, so these calls accept a lower confidence.
VAGUE_READ = {"request": "show me what is inside a file", "confidence_threshold": 0.5}


def workdir_with(tmp: Path, config: dict[str, Any]) -> Path:
    caps = tmp / "capabilities"
    caps.mkdir(parents=True, exist_ok=True)
    (caps / "tools.yaml").write_text(CAPABILITIES)
    (tmp / "hello.txt").write_text("hello from a file\n")
    (tmp / "magictunnel-config.yaml").write_text(yaml.safe_dump(config))
    return tmp


BASE_CONFIG: dict[str, Any] = {"registry": {"paths": ["capabilities"], "hot_reload": False}}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    workdir = workdir_with(tmp_path_factory.mktemp("disc"), BASE_CONFIG)
    with run_gateway(workdir, timeout=60) as gw:
        yield gw


def connect(gw: RunningGateway, transport: str, **callbacks: Any) -> Client:
    if transport == "streamable_http":
        return Client(streamable_http_client(gw.mcp_url), mode="legacy", **callbacks)
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "magictunnel", "stdio"], cwd=str(gw.workdir)
    )
    return Client(params, mode="legacy", **callbacks)


def payload(result: types.CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, result
    return result.structured_content


@pytest.mark.parametrize("transport", ["streamable_http", "stdio"])
async def test_plain_language_request_runs_the_right_tool(gateway: RunningGateway, transport: str) -> None:
    async with connect(gateway, transport) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert {"smart_tool_discovery", "search_tools", "call_tool", "get_weather"} <= listed
        assert "restart_service" not in listed

        result = await client.call_tool(
            "smart_tool_discovery", {"request": "what's the weather in city=Oslo, imperial units please"}
        )
        out = payload(result)
        assert not result.is_error
        assert out["status"] == "executed" and out["tool"] == "get_weather"
        assert out["parameters"] == {"city": "Oslo", "units": "imperial"}
        assert result.content[0].text.strip() == "weather Oslo imperial"  # the tool's own output first
        assert out["confidence"] >= 0.7 and out["alternatives"]

        low = payload(await client.call_tool("smart_tool_discovery", {"request": "book me a table for two"}))
        assert low["status"] == "below_threshold"
        assert low["candidates"] and "input_schema" in low["candidates"][0]

        hidden = payload(
            await client.call_tool("smart_tool_discovery", {"request": "restart the 'nginx' service"})
        )
        assert hidden["tool"] == "restart_service" and hidden["status"] == "executed"
        assert hidden["result"]["content"][0]["text"].strip() == "restarted nginx"

        found = payload(await client.call_tool("search_tools", {"query": "download a web page", "limit": 3}))
        assert found["tools"][0]["name"] == "fetch_url"
        ran = await client.call_tool(
            "call_tool", {"name": "fetch_url", "arguments": {"url": "https://a.example"}}
        )
        assert not ran.is_error and "fetched https://a.example" in ran.content[0].text


@pytest.mark.parametrize("transport", ["streamable_http", "stdio"])
async def test_missing_parameters_are_elicited(gateway: RunningGateway, transport: str) -> None:
    asked: list[types.ElicitRequestParams] = []

    async def on_elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action="accept", content={"path": str(gateway.workdir / "hello.txt")})

    async with connect(gateway, transport, elicitation_callback=on_elicit) as client:
        result = await client.call_tool("smart_tool_discovery", VAGUE_READ)
        out = payload(result)
        assert out["status"] == "executed" and out["tool"] == "read_file", out
        assert result.content[0].text == "hello from a file\n"
        assert out["parameter_sources"]["path"] == "asked the user"
    assert len(asked) == 1
    schema = asked[0].model_dump(by_alias=True)["requestedSchema"]
    assert schema["required"] == ["path"]

    async with connect(gateway, transport) as client:  # no elicitation support: say what is missing
        out = payload(await client.call_tool("smart_tool_discovery", VAGUE_READ))
        assert out["status"] == "missing_parameters" and out["missing"] == ["path"]


async def test_declined_elicitation_runs_nothing(gateway: RunningGateway) -> None:
    async def on_elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        return types.ElicitResult(action="decline")

    async with connect(gateway, "streamable_http", elicitation_callback=on_elicit) as client:
        out = payload(await client.call_tool("smart_tool_discovery", VAGUE_READ))
        assert out["status"] == "missing_parameters" and "declined" in out["message"]


@pytest.mark.parametrize("transport", ["streamable_http", "stdio"])
async def test_sampling_reranks_with_the_clients_model(tmp_path: Path, transport: str) -> None:
    config = {**BASE_CONFIG, "smart_discovery": {"llm_mode": "sampling"}}
    workdir = workdir_with(tmp_path, config)
    prompts: list[str] = []

    async def on_sampling(ctx: Any, params: types.CreateMessageRequestParams) -> types.CreateMessageResult:
        prompts.append(params.messages[0].content.text)  # type: ignore[union-attr]
        answer = {
            "tool": "get_weather",
            "arguments": {"city": "Lisbon"},
            "reason": "a coat depends on weather",
        }
        return types.CreateMessageResult(
            role="assistant",
            model="client-model",
            content=types.TextContent(type="text", text=json.dumps(answer)),
        )

    with run_gateway(workdir, timeout=60) as gw:
        async with connect(gw, transport, sampling_callback=on_sampling) as client:
            result = await client.call_tool(
                "smart_tool_discovery", {"request": "do I need a coat in Lisbon today?"}
            )
            out = payload(result)
            assert out["status"] == "executed" and out["tool"] == "get_weather", out
            assert out["parameters"] == {"city": "Lisbon"}
            assert out["reasoning"] == "language model: a coat depends on weather"
    assert prompts and "do I need a coat in Lisbon today?" in prompts[0] and "get_weather" in prompts[0]


async def test_discovery_only_visibility(tmp_path: Path) -> None:
    config = {**BASE_CONFIG, "visibility": {"expose": "discovery_only", "always_visible": ["get_weather"]}}
    with run_gateway(workdir_with(tmp_path, config), timeout=60) as gw:
        async with connect(gw, "streamable_http") as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == {"smart_tool_discovery", "search_tools", "call_tool", "get_weather"}
            tool = next(t for t in (await client.list_tools()).tools if t.name == "smart_tool_discovery")
            assert "5 tools" not in (tool.description or "") and "4 tools" in (tool.description or "")
            out = payload(
                await client.call_tool("smart_tool_discovery", {"request": "fetch https://a.example"})
            )
            assert out["tool"] == "fetch_url" and out["status"] == "executed"


ADMIN_TOKEN = "discovery-e2e-admin-token-0123456789"


async def test_unauthorised_tools_are_never_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from magictunnel.config.loader import load_config
    from magictunnel.core.gateway import Gateway
    from magictunnel.web.app import create_app
    from tests.security.helpers import serve

    monkeypatch.setenv("MAGICTUNNEL_ADMIN_PASSWORD", "Discovery-Tests-Passw0rd")
    monkeypatch.delenv("MAGICTUNNEL_ADMIN_TOKEN", raising=False)
    config = {
        **BASE_CONFIG,
        "deployment": {"runtime_mode": "advanced"},
        "storage": {"database_url": f"sqlite:///{tmp_path / 'mt.db'}", "data_dir": str(tmp_path / "data")},
        "external_mcp": {"config_file": None},
        "security": {"admin_token": ADMIN_TOKEN, "poll_interval": 0.1},
    }
    workdir = workdir_with(tmp_path, config)
    gateway = Gateway(load_config(cwd=workdir, environ={}), base_dir=workdir)
    admin_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with (
        serve(create_app(gateway)) as base,
        httpx.AsyncClient(base_url=base, headers=admin_headers) as admin,
    ):
        permissions = ["tool:get_weather", "tool:smart_tool_discovery", "tool:search_tools", "tool:call_tool"]
        r = await admin.post(
            "/api/security/rbac/roles", json={"name": "weather-only", "permissions": permissions}
        )
        assert r.status_code == 201, r.text
        r = await admin.post(
            "/api/auth/api-keys", json={"name": "agent", "client_id": "agent-w", "roles": ["weather-only"]}
        )
        assert r.status_code == 201, r.text
        key = r.json()["key"]
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy") as client:
            listed = {t.name for t in (await client.list_tools()).tools}
            assert "read_file" not in listed and "get_weather" in listed
            found = payload(await client.call_tool("search_tools", {"query": "read the contents of a file"}))
            assert [t["name"] for t in found["tools"]] == ["get_weather"]
            out = payload(
                await client.call_tool("smart_tool_discovery", {"request": "read the file /etc/hostname"})
            )
            assert out["status"] == "below_threshold"
            assert {c["name"] for c in out["candidates"]} == {"get_weather"}
            hidden = payload(await client.call_tool("search_tools", {"query": "restart a service"}))
            assert "restart_service" not in {t["name"] for t in hidden["tools"]}
            denied = await client.call_tool(
                "call_tool", {"name": "read_file", "arguments": {"path": "/etc/hostname"}}
            )
            assert denied.is_error and "Unknown tool" in denied.content[0].text
            ok = payload(await client.call_tool("smart_tool_discovery", {"request": "weather for city=Rome"}))
            assert ok["status"] == "executed" and ok["tool"] == "get_weather"


async def test_modern_protocol_clients_get_results_and_missing_parameters(gateway: RunningGateway) -> None:
    """2026-07-28 clients are stateless (no server->client requests): discovery runs tools and reports
    what is missing instead of eliciting it."""
    async with Client(streamable_http_client(gateway.mcp_url), mode="2026-07-28") as client:
        out = payload(
            await client.call_tool("smart_tool_discovery", {"request": "fetch https://a.example/x"})
        )
        assert out["status"] == "executed" and out["tool"] == "fetch_url"
        assert out["parameters"] == {"url": "https://a.example/x"}
        out = payload(await client.call_tool("smart_tool_discovery", VAGUE_READ))
        assert out["status"] == "missing_parameters" and out["missing"] == ["path"]
