"""Smart discovery inside a real gateway: built-in tools, parameter mapping, thresholds, visibility,
access filtering, hidden tools and incremental updates on catalog changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from magictunnel.catalog.catalog import SourceSnapshot
from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.config.loader import load_config
from magictunnel.core.gateway import Gateway
from magictunnel.discovery.service import DiscoveryService
from magictunnel.pipeline.context import CallContext, Identity

pytestmark = pytest.mark.anyio

CAPABILITIES = """
tools:
  - name: fetch_url
    description: Fetch a web page by URL and return its text content
    inputSchema:
      type: object
      properties:
        url: {type: string, description: the page address}
        max_length: {type: integer, minimum: 1}
      required: [url]
    routing: {type: subprocess, config: {command: echo, args: ["fetched {url} {max_length}"]}}
  - name: get_weather
    description: Current weather and forecast for a city
    keywords: [temperature, rain]
    inputSchema:
      type: object
      properties:
        city: {type: string}
        units: {type: string, enum: [metric, imperial]}
      required: [city]
    routing: {type: subprocess, config: {command: echo, args: ["weather {city} {units}"]}}
  - name: read_file
    description: Read the contents of a file on disk
    inputSchema:
      type: object
      properties:
        path: {type: string}
      required: [path]
    routing: {type: subprocess, config: {command: cat, args: ["{path}"]}}
  - name: restart_service
    description: Restart a system service by name (administrators only)
    hidden: true
    inputSchema:
      type: object
      properties:
        service: {type: string}
      required: [service]
    routing: {type: subprocess, config: {command: echo, args: ["restarted {service}"]}}
"""


def make_gateway(tmp_path: Path, **config: object) -> Gateway:
    caps = tmp_path / "capabilities"
    caps.mkdir(exist_ok=True)
    (caps / "tools.yaml").write_text(CAPABILITIES)
    base = {
        "registry": {"paths": ["capabilities"], "hot_reload": False},
        "storage": {"data_dir": str(tmp_path / "data")},
    }
    base.update(config)
    (tmp_path / "magictunnel-config.yaml").write_text(yaml.safe_dump(base))
    return Gateway(load_config(cwd=tmp_path, environ={}), base_dir=tmp_path)


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    gw = make_gateway(tmp_path)
    await gw.start()
    await gw.extensions["discovery"].ready()
    try:
        yield gw
    finally:
        await gw.stop()


async def discover(gw: Gateway, ctx: CallContext | None = None, **args: object) -> dict:
    result = await gw.call_tool("smart_tool_discovery", args, ctx or CallContext())
    assert result.structured_content is not None
    return result.structured_content


async def test_runs_the_right_tool_with_mapped_arguments(gateway: Gateway) -> None:
    out = await discover(gateway, request="fetch https://example.com/post-42, 300 characters max")
    assert out["status"] == "executed"
    assert out["tool"] == "fetch_url"
    assert out["parameters"] == {"url": "https://example.com/post-42", "max_length": 300}
    assert 0.7 <= out["confidence"] <= 1.0
    assert out["result"]["content"][0]["text"].strip() == "fetched https://example.com/post-42 300"
    assert out["alternatives"] and all(a["name"] != "fetch_url" for a in out["alternatives"])
    assert "semantic similarity" in out["reasoning"]


async def test_enum_values_and_key_value_pairs(gateway: Gateway) -> None:
    out = await discover(gateway, request="what's the weather, city=Oslo, in imperial units")
    assert out["tool"] == "get_weather"
    assert out["parameters"] == {"city": "Oslo", "units": "imperial"}
    assert out["result"]["content"][0]["text"].strip() == "weather Oslo imperial"


async def test_below_threshold_runs_nothing_and_returns_candidates(gateway: Gateway) -> None:
    out = await discover(gateway, request="order a large pepperoni pizza to my apartment")
    assert out["status"] == "below_threshold"
    assert out["candidates"] and "input_schema" in out["candidates"][0]
    out = await discover(gateway, request="weather in Paris", confidence_threshold=1.0)
    assert out["status"] == "below_threshold"
    assert out["candidates"][0]["name"] == "get_weather"


async def test_missing_required_parameters_are_reported(gateway: Gateway) -> None:
    out = await discover(gateway, request="read a file for me")
    assert out["status"] == "missing_parameters"
    assert out["tool"] == "read_file" and out["missing"] == ["path"]
    assert out["input_schema"]["required"] == ["path"]


async def test_hidden_tools_are_discoverable_and_run(gateway: Gateway) -> None:
    listed = [t.name for t in gateway.extensions["discovery"].visible_tools(Identity())]
    assert "restart_service" not in listed
    out = await discover(gateway, request="restart the 'nginx' service")
    assert out["tool"] == "restart_service" and out["status"] == "executed"
    assert out["result"]["content"][0]["text"].strip() == "restarted nginx"


async def test_search_tools_and_call_tool(gateway: Gateway) -> None:
    result = await gateway.call_tool(
        "search_tools", {"query": "temperature in Rome", "limit": 2}, CallContext()
    )
    tools = result.structured_content["tools"]
    assert tools[0]["name"] == "get_weather" and "input_schema" in tools[0] and len(tools) == 2
    result = await gateway.call_tool(
        "call_tool", {"name": "get_weather", "arguments": {"city": "Rome"}}, CallContext()
    )
    assert not result.is_error and result.content[0].text.strip() == "weather Rome"
    result = await gateway.call_tool(
        "call_tool", {"name": "smart_tool_discovery", "arguments": {}}, CallContext()
    )
    assert result.is_error and "Unknown tool" in result.content[0].text


async def test_sequential_mode_suggests_the_next_step(gateway: Gateway) -> None:
    out = await discover(
        gateway, request="fetch https://example.com then read the file /etc/hostname", sequential_mode=True
    )
    assert out["tool"] == "fetch_url"
    assert out["next_step"]["suggested_tool"] == "read_file"
    assert "read the file" in out["next_step"]["request"]


async def test_descriptions_summarise_the_catalog(gateway: Gateway) -> None:
    tool = gateway.resolve_tool("smart_tool_discovery")
    assert tool is not None and "4 tools" in tool.description
    assert set(tool.input_schema["properties"]) == {
        "request",
        "context",
        "preferred_tools",
        "confidence_threshold",
        "sequential_mode",
        "include_error_details",
    }
    assert tool.input_schema["properties"]["confidence_threshold"]["default"] == 0.7


class OnlyWeather:
    """An access policy that lets anonymous clients call the weather tool and the discovery tools."""

    def can_call(self, identity: Identity, tool: ToolDef) -> bool:
        return identity.client_id == "admin" or tool.name in (
            "get_weather",
            "smart_tool_discovery",
            "search_tools",
            "call_tool",
        )


async def test_tools_the_client_may_not_call_are_never_returned(gateway: Gateway) -> None:
    gateway.extensions["rbac"] = OnlyWeather()
    service: DiscoveryService = gateway.extensions["discovery"]
    service.engine.invalidate_results()
    result = await gateway.call_tool("search_tools", {"query": "read a file from disk"}, CallContext())
    assert [t["name"] for t in result.structured_content["tools"]] == ["get_weather"]
    out = await discover(gateway, request="read the file /etc/hosts")
    assert out["status"] == "below_threshold"
    assert [c["name"] for c in out["candidates"]] == ["get_weather"]
    result = await gateway.call_tool(
        "call_tool", {"name": "read_file", "arguments": {"path": "/etc/hosts"}}, CallContext()
    )
    assert result.is_error and "Unknown tool" in result.content[0].text
    admin = CallContext(identity=Identity(client_id="admin"))
    out = await discover(gateway, ctx=admin, request="read the file /etc/hostname")
    assert out["tool"] == "read_file" and out["status"] == "executed"


async def test_visibility_discovery_only(tmp_path: Path) -> None:
    gw = make_gateway(tmp_path, visibility={"expose": "discovery_only", "always_visible": ["read_file"]})
    await gw.start()
    try:
        names = {t.name for t in gw.extensions["discovery"].visible_tools(Identity())}
        assert names == {"smart_tool_discovery", "search_tools", "call_tool", "read_file"}
    finally:
        await gw.stop()
    gw = make_gateway(tmp_path)
    await gw.start()
    try:
        names = {t.name for t in gw.extensions["discovery"].visible_tools(Identity())}
    finally:
        await gw.stop()
    assert {"fetch_url", "get_weather", "read_file", "smart_tool_discovery"} <= names
    assert "restart_service" not in names


async def test_catalog_changes_update_the_index_in_the_background(gateway: Gateway) -> None:
    service: DiscoveryService = gateway.extensions["discovery"]
    before = service.engine.index.version
    first = service.search("translate this text to German", Identity(), top_k=1)
    assert first[0].doc.key != "translate_text"
    gateway.catalog.set_source(
        SourceSnapshot(
            name="extra",
            tools=[
                ToolDef(
                    name="translate_text",
                    description="Translate text into another language",
                    input_schema={"type": "object", "properties": {"text": {"type": "string"}}},
                    routing=Routing(type="subprocess", config={"command": "echo", "args": ["{text}"]}),
                )
            ],
        )
    )
    await service.ready()
    assert service.engine.index.version > before
    hits = service.search("translate this text to German", Identity(), top_k=1)
    assert hits[0].doc.key == "translate_text"
    assert "5 tools" in (gateway.resolve_tool("search_tools").description or "")
    stats = service.engine.index.stats
    # only the new tool: its description, name and one sentence (USE), and its description (MiniLM
    # and MPNet)
    assert stats is not None and stats.computed == 5


async def test_disabled_feature_installs_nothing(tmp_path: Path) -> None:
    gw = make_gateway(tmp_path, smart_discovery={"enabled": False})
    assert "discovery" not in gw.extensions
    assert gw.resolve_tool("smart_tool_discovery") is None


async def test_preferred_tools_and_error_details(gateway: Gateway) -> None:
    # a preferred tool wins when it is a plausible answer too...
    request = "the contents of a page or a file"
    first = (await discover(gateway, request=request))["tool"]
    assert first in ("read_file", "fetch_url")
    other, needs = ("fetch_url", "url") if first == "read_file" else ("read_file", "path")
    out = await discover(gateway, request=request, preferred_tools=[other])
    assert out["tool"] == other and out["status"] == "missing_parameters" and out["missing"] == [needs]
    out = await discover(
        gateway, request="read the contents of https://example.com/a", preferred_tools=["fetch_url"]
    )
    assert out["tool"] == "fetch_url" and out["status"] == "executed"
    # ...and not when it clearly fits worse
    out = await discover(gateway, request="get https://example.com/a", preferred_tools=["read_file"])
    assert out["tool"] == "fetch_url" and out["status"] == "executed"
    # a failing tool: its error comes back as an error, with scoring details on request
    result = await gateway.call_tool(
        "smart_tool_discovery",
        {"request": "read the file /nonexistent/file.txt", "include_error_details": True},
        CallContext(),
    )
    assert result.is_error
    out = result.structured_content
    assert out["status"] == "error" and out["tool"] == "read_file"
    assert out["error_details"]["scores"][0]["name"] == "read_file"
    assert "No such file" in out["result"]["content"][0]["text"] or out["result"]["isError"]


async def test_the_mcp_param_schema_lookup_shows_what_tools_list_shows(tmp_path: Path) -> None:
    """The SDK checks a 2026-07-28 tools/call's Mcp-Param headers against the schema the caller
    was shown; the gateway answers per tool, exactly as its tools/list would (not hidden, pinned
    when only discovery is exposed, allowed by RBAC) instead of the SDK listing every tool."""
    from magictunnel.server.identity import connection_identity
    from magictunnel.server.mcp_server import build_server
    from magictunnel.server.sessions import SessionRegistry

    for visibility in ({}, {"expose": "discovery_only", "always_visible": ["read_file"]}):
        (workdir := tmp_path / str(len(visibility))).mkdir()
        gw = make_gateway(workdir, visibility=visibility)
        await gw.start()
        try:
            gw.extensions["rbac"] = OnlyWeather()
            handlers = build_server(gw, SessionRegistry()).magictunnel_handlers  # type: ignore[attr-defined]
            for client_id in ("anonymous", "admin"):
                token = connection_identity.set(Identity(client_id=client_id))
                try:
                    listed = {
                        t.name: t.input_schema for t in handlers.listed_tools(Identity(client_id=client_id))
                    }
                    looked_up = {
                        name: schema
                        for name in [*gw.catalog.tools, "no_such_tool"]
                        if (schema := handlers.advertised_input_schema(name)) is not None
                    }
                finally:
                    connection_identity.reset(token)
                assert looked_up == listed
                assert "restart_service" not in looked_up  # hidden: the SDK skips the check
            assert ("read_file" in looked_up) and (("fetch_url" in looked_up) == (not visibility))
        finally:
            await gw.stop()
