"""Forwarding both ways with the real MCP server handlers and the SDK client (in-process server,
real upstream processes): prompts, resources, templates, completion, subscriptions, logging,
progress, sampling, elicitation and roots, in both protocol eras."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from magictunnel.server.mcp_server import build_server
from magictunnel.server.sessions import SessionRegistry
from tests.upstream.conftest import running_gateway, stdio_server

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self) -> None:
        self.sampling: list[types.CreateMessageRequestParams] = []
        self.elicit: list[types.ElicitRequestParams] = []
        self.logs: list[types.LoggingMessageNotificationParams] = []
        self.messages: list[Any] = []

    async def on_sampling(
        self, ctx: Any, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult:
        self.sampling.append(params)
        return types.CreateMessageResult(
            role="assistant",
            model="test-model",
            content=types.TextContent(type="text", text="sampled answer"),
        )

    async def on_elicit(self, ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.elicit.append(params)
        return types.ElicitResult(action="accept", content={"response": "from the user"})

    async def on_roots(self, ctx: Any) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri="file:///work/project", name="project")])

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        self.logs.append(params)

    async def on_message(self, message: Any) -> None:
        self.messages.append(message)


def client(gw: Any, rec: Recorder, mode: str = "legacy") -> Client:
    return Client(
        build_server(gw, SessionRegistry()),
        mode=mode,
        sampling_callback=rec.on_sampling,
        elicitation_callback=rec.on_elicit,
        list_roots_callback=rec.on_roots,
        logging_callback=rec.on_log,
        message_handler=rec.on_message,
    )


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_prompts_resources_templates_completion(tmp_path: Path, mode: str) -> None:
    async with running_gateway(tmp_path, {"fx": stdio_server()}) as gw:
        rec = Recorder()
        async with client(gw, rec, mode) as c:
            prompts = {p.name for p in (await c.list_prompts()).prompts}
            assert {"fx_test_simple_prompt", "fx_test_prompt_with_arguments"} <= prompts
            got = await c.get_prompt("fx_test_prompt_with_arguments", {"arg1": "one", "arg2": "two"})
            assert "arg1='one'" in got.messages[0].content.text  # type: ignore[union-attr]

            uris = {str(r.uri) for r in (await c.list_resources()).resources}
            assert {"test://static-text", "test://static-binary", "test://watched-resource"} <= uris
            text = await c.read_resource("test://static-text")
            assert text.contents[0].text.startswith("This is the content")  # type: ignore[union-attr]
            binary = await c.read_resource("test://static-binary")
            assert binary.contents[0].blob  # type: ignore[union-attr]
            templates = (await c.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["test://template/{id}/data"]
            from_template = await c.read_resource("test://template/77/data")
            assert json.loads(from_template.contents[0].text)["id"] == "77"  # type: ignore[union-attr]
            with pytest.raises(MCPError):
                await c.read_resource("test://does-not-exist")

            done = await c.complete(
                types.PromptReference(type="ref/prompt", name="fx_test_prompt_with_arguments"),
                {"name": "arg1", "value": "al"},
            )
            assert done.completion.values == ["alpha"]


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_sampling_elicitation_roots_reach_the_calling_client(tmp_path: Path, mode: str) -> None:
    async with running_gateway(tmp_path, {"fx": stdio_server()}) as gw:
        rec = Recorder()
        async with client(gw, rec, mode) as c:
            result = await c.call_tool("fx_test_sampling", {"prompt": "what is up"})
            assert result.content[0].text == "LLM response: sampled answer"  # type: ignore[union-attr]
            assert rec.sampling and rec.sampling[0].messages[0].content.text == "what is up"  # type: ignore[union-attr]
            result = await c.call_tool("fx_test_elicitation", {"message": "who are you?"})
            assert "action=accept" in result.content[0].text  # type: ignore[union-attr]
            assert "from the user" in result.content[0].text  # type: ignore[union-attr]
            assert rec.elicit[0].message == "who are you?"


async def in_flight(gw: Any, server: str, count: int) -> None:
    conn = gw.extensions["upstream_manager"].connections[server]
    with anyio.fail_after(10):
        while conn.status()["in_flight"] < count:
            await anyio.sleep(0.01)


async def test_roots_and_logs_reach_a_handshake_client_from_a_handshake_upstream(tmp_path: Path) -> None:
    servers = {"old": {**stdio_server(), "naming": "passthrough"}}
    async with running_gateway(tmp_path, servers) as gw:
        rec = Recorder()
        async with client(gw, rec, "legacy") as c:
            await c.set_logging_level("debug")
            result = await c.call_tool("test_tool_with_logging", {})
            assert result.is_error is False
            with anyio.fail_after(5):
                while len(rec.logs) < 3:
                    await anyio.sleep(0.02)
            assert [log.data for log in rec.logs][:3] == [
                "Tool execution started",
                "Tool processing data",
                "Tool execution completed",
            ]
            progress: list[float] = []

            async def on_progress(p: float, total: float | None, message: str | None) -> None:
                progress.append(p)

            await c.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
            assert progress == [0, 50, 100]


async def test_resource_updates_reach_only_subscribed_clients(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, {"fx": stdio_server()}) as gw:
        sessions = SessionRegistry()
        server = build_server(gw, sessions)
        subscribed, bystander = Recorder(), Recorder()
        async with (
            Client(server, mode="legacy", message_handler=subscribed.on_message) as a,
            Client(server, mode="legacy", message_handler=bystander.on_message) as b,
        ):
            await a.subscribe_resource("test://watched-resource")
            await b.list_tools()
            await b.call_tool("fx_touch_watched", {"text": "new content"})

            def updates(rec: Recorder) -> list[str]:
                return [
                    str(m.params.uri)
                    for m in rec.messages
                    if isinstance(m, types.ResourceUpdatedNotification)
                ]

            with anyio.fail_after(10):
                while not updates(subscribed):
                    await anyio.sleep(0.05)
            assert updates(subscribed) == ["test://watched-resource"]
            assert updates(bystander) == []
            body = await a.read_resource("test://watched-resource")
            assert body.contents[0].text == "new content"  # type: ignore[union-attr]
            await a.unsubscribe_resource("test://watched-resource")
            assert "test://watched-resource" not in gw.extensions["upstream"].subscriptions


async def test_handshake_upstream_requests_become_input_required_for_a_2026_client(tmp_path: Path) -> None:
    servers = {"old": {**stdio_server(), "protocol": "legacy"}}
    async with running_gateway(tmp_path, servers) as gw:
        assert gw.extensions["upstream_manager"].connections["old"].protocol_version == "2025-11-25"
        rec = Recorder()
        async with client(gw, rec, "2026-07-28") as c:
            # the SDK client drives the input_required rounds through its callbacks
            result = await c.call_tool("old_test_sampling", {"prompt": "ping?"})
            assert result.content[0].text == "LLM response: sampled answer"  # type: ignore[union-attr]
            result = await c.call_tool("old_test_elicitation", {"message": "name?"})
            assert "from the user" in result.content[0].text  # type: ignore[union-attr]
            roots = await c.call_tool("old_ask_roots", {})
            assert roots.content[0].text == '["file:///work/project"]'  # type: ignore[union-attr]
            # one round by hand: the result names the request and carries an opaque state
            first = await c.session.call_tool(
                "old_test_sampling", {"prompt": "manual"}, allow_input_required=True
            )
            assert isinstance(first, types.InputRequiredResult) and first.request_state
            ((key, request),) = first.input_requests.items()  # type: ignore[union-attr]
            assert request.method == "sampling/createMessage"
            with pytest.raises(MCPError, match="requestState does not belong"):
                await c.session.call_tool(
                    "old_test_elicitation",
                    {"message": "x"},
                    request_state=first.request_state,
                    input_responses={
                        key: {"role": "assistant", "model": "m", "content": {"type": "text", "text": "t"}}
                    },
                    allow_input_required=True,
                )
        assert len(rec.sampling) == 1 and len(rec.elicit) == 1


async def test_upstream_list_changed_reaches_connected_clients(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, {"fx": stdio_server()}) as gw:
        sessions = SessionRegistry()
        server = build_server(gw, sessions)
        gw.catalog.subscribe(sessions.on_catalog_event)  # as the web app and stdio server do
        watcher = Recorder()
        async with Client(server, mode="legacy", message_handler=watcher.on_message) as c:
            await c.list_tools()
            await c.call_tool("fx_change_tools", {})
            with anyio.fail_after(10):
                while not any(isinstance(m, types.ToolListChangedNotification) for m in watcher.messages):
                    await anyio.sleep(0.05)
            assert "fx_extra" in {t.name for t in (await c.list_tools()).tools}


async def test_url_elicitation_and_its_completion_reach_the_client(tmp_path: Path) -> None:
    servers = {"old": {**stdio_server(), "protocol": "legacy"}}
    async with running_gateway(tmp_path, servers) as gw:
        sessions = SessionRegistry()
        rec = Recorder()
        async with Client(
            build_server(gw, sessions),
            mode="legacy",
            elicitation_callback=rec.on_elicit,
            message_handler=rec.on_message,
        ) as c:
            result = await c.call_tool("old_url_elicitation", {})
            assert result.content[0].text == "url elicitation: accept"  # type: ignore[union-attr]
            assert rec.elicit[0].mode == "url" and rec.elicit[0].url == "https://example.test/authorize"  # type: ignore[union-attr]
            with anyio.fail_after(10):
                while not any(isinstance(m, types.ElicitCompleteNotification) for m in rec.messages):
                    await anyio.sleep(0.05)
            done = next(m for m in rec.messages if isinstance(m, types.ElicitCompleteNotification))
            assert done.params.elicitation_id == "elic-42"
