"""Smart discovery asks 2026-07-28 clients for missing parameters with `input_required` rounds.

A real `magictunnel serve` process; the official SDK client in 2026-07-28 mode over Streamable HTTP
(it answers input requests with its elicitation callback and retries with `inputResponses` and the
echoed `requestState`), and raw JSON-RPC posts with the per-request `_meta` envelope where the wire
itself is the point.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from magictunnel.discovery.input_required import RESPONSE_KEY, InputRounds
from magictunnel.discovery.params import Mapping
from magictunnel.pipeline.context import CallContext
from tests.e2e.test_discovery_e2e import BASE_CONFIG, workdir_with
from tests.support.gateway import RunningGateway, run_gateway

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]

MODERN = "2026-07-28"
READ = "show me what is inside a file"
# The request names no file on purpose (so a parameter is missing); that also makes the ranker less
# sure of read_file than of a request with a path, so these calls accept a lower confidence.
READ_ARGS = {"request": READ, "confidence_threshold": 0.5}
EXTRA_TOOLS = """
tools:
  - name: repeat_text
    description: Repeat a phrase a number of times
    inputSchema:
      type: object
      properties:
        phrase: {type: string}
        times: {type: integer, minimum: 1, maximum: 9}
      required: [phrase, times]
    routing: {type: subprocess, config: {command: echo, args: ["{phrase} x{times}"]}}
"""


def make_workdir(tmp: Path, config: dict[str, Any]) -> Path:
    workdir = workdir_with(tmp, config)
    (workdir / "capabilities" / "extra.yaml").write_text(EXTRA_TOOLS)
    return workdir


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    with run_gateway(make_workdir(tmp_path_factory.mktemp("ir"), BASE_CONFIG), timeout=60) as gw:
        yield gw


def modern(gw: RunningGateway, **callbacks: Any) -> Client:
    return Client(streamable_http_client(gw.mcp_url), mode=MODERN, **callbacks)


async def never_called(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    raise AssertionError("the input request must be answered by the test, not the callback")


def answering(*replies: types.ElicitResult, asked: list[dict[str, Any]] | None = None) -> Any:
    queue = list(replies)

    async def on_elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        if asked is not None:
            asked.append(params.model_dump(by_alias=True, exclude_none=True))
        return queue.pop(0)

    return on_elicit


def payload(result: types.CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, result
    return result.structured_content


async def first_round(client: Client, request: str) -> types.InputRequiredResult:
    result = await client.session.call_tool(
        "smart_tool_discovery", {"request": request, "confidence_threshold": 0.5}, allow_input_required=True
    )
    assert isinstance(result, types.InputRequiredResult), result
    assert result.request_state and result.input_requests
    return result


def accept(**content: Any) -> types.ElicitResult:
    return types.ElicitResult(action="accept", content=content)


# ---- asking and answering -----------------------------------------------------------------
async def test_missing_parameter_gets_an_input_required_round(gateway: RunningGateway) -> None:
    async with modern(gateway, elicitation_callback=never_called) as client:
        first = await first_round(client, READ)
    assert first.input_requests is not None and list(first.input_requests) == [RESPONSE_KEY]
    request = first.input_requests[RESPONSE_KEY].model_dump(by_alias=True, exclude_none=True)
    assert request["method"] == "elicitation/create"
    params = request["params"]
    assert params["requestedSchema"]["required"] == ["path"]
    assert params["requestedSchema"]["properties"]["path"]["type"] == "string"
    assert "read_file" in params["message"] and "path" in params["message"]


async def test_accepted_answer_runs_the_chosen_tool(gateway: RunningGateway) -> None:
    asked: list[dict[str, Any]] = []
    hello = str(gateway.workdir / "hello.txt")
    async with modern(gateway, elicitation_callback=answering(accept(path=hello), asked=asked)) as client:
        result = await client.call_tool("smart_tool_discovery", READ_ARGS)
    out = payload(result)
    assert not result.is_error
    assert out["status"] == "executed" and out["tool"] == "read_file", out
    assert out["parameters"] == {"path": hello}
    assert out["parameter_sources"]["path"] == "asked the user"
    assert result.content[0].text == "hello from a file\n"  # the tool's own output first
    assert out["alternatives"] and out["confidence"] > 0
    assert len(asked) == 1 and asked[0]["requestedSchema"]["required"] == ["path"]


async def test_manual_retry_with_input_responses(gateway: RunningGateway) -> None:
    """The wire round trip driven by hand: the retry carries inputResponses and the echoed state."""
    hello = str(gateway.workdir / "hello.txt")
    async with modern(gateway, elicitation_callback=never_called) as client:
        first = await first_round(client, READ)
        result = await client.session.call_tool(
            "smart_tool_discovery",
            READ_ARGS,
            input_responses={RESPONSE_KEY: accept(path=hello)},
            request_state=first.request_state,
        )
    assert isinstance(result, types.CallToolResult)
    assert payload(result)["status"] == "executed" and result.content[0].text == "hello from a file\n"


async def test_answers_are_coerced_and_validated(gateway: RunningGateway) -> None:
    request = "repeat the phrase 'hi there'"
    async with modern(gateway, elicitation_callback=answering(accept(times="3"))) as client:
        result = await client.call_tool("smart_tool_discovery", {"request": request})
        out = payload(result)
        assert out["status"] == "executed" and out["tool"] == "repeat_text", out
        assert out["parameters"] == {"phrase": "hi there", "times": 3}  # "3" became an integer
        assert result.content[0].text.strip() == "hi there x3"

    async with modern(gateway, elicitation_callback=answering(accept(times="42"))) as client:
        out = payload(await client.call_tool("smart_tool_discovery", {"request": request}))
        assert out["status"] == "missing_parameters" and out["missing"] == ["times"], out
        assert "result" not in out


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_declined_or_cancelled_runs_nothing(gateway: RunningGateway, action: str) -> None:
    reply = types.ElicitResult(action=action)  # type: ignore[arg-type]
    async with modern(gateway, elicitation_callback=answering(reply)) as client:
        result = await client.call_tool("smart_tool_discovery", READ_ARGS)
    out = payload(result)
    assert not result.is_error
    assert out["status"] == "missing_parameters" and out["missing"] == ["path"]
    assert out["message"] == "The user declined to provide the missing parameters."
    assert "result" not in out


async def test_client_without_elicitation_gets_the_missing_list(gateway: RunningGateway) -> None:
    async with modern(gateway) as client:  # no elicitation callback: the capability is not declared
        result = await client.session.call_tool("smart_tool_discovery", READ_ARGS, allow_input_required=True)
    assert isinstance(result, types.CallToolResult)
    out = payload(result)
    assert out["status"] == "missing_parameters" and out["missing"] == ["path"]
    assert out["input_schema"]["required"] == ["path"]

    raw = post(gateway, READ_ARGS, capabilities={"sampling": {}})
    assert raw["result"]["structuredContent"]["status"] == "missing_parameters"
    assert "resultType" not in raw["result"] or raw["result"]["resultType"] != "input_required"


# ---- requestState -------------------------------------------------------------------------
def post(
    gw: RunningGateway,
    arguments: dict[str, Any],
    capabilities: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """A raw 2026-07-28 tools/call with the per-request `_meta` envelope."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    }
    params = {"name": "smart_tool_discovery", "arguments": arguments, "_meta": meta, **extra}
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": "tools/call",
        "mcp-name": "smart_tool_discovery",
    }
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params}
    response = httpx.post(gw.mcp_url, headers=headers, json=body, timeout=60)
    return response.json()


def _forge(state: str, **changes: Any) -> str:
    body, signature = state.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    decoded.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(decoded).encode()).rstrip(b"=").decode()
    return f"{forged}.{signature}"


async def test_bad_request_state_is_invalid_params(gateway: RunningGateway) -> None:
    caps = {"elicitation": {"form": {}}}
    first = post(gateway, READ_ARGS, caps)["result"]
    assert first["resultType"] == "input_required"
    state = first["requestState"]
    other = post(gateway, {"request": "repeat the phrase 'x'"}, caps)["result"]["requestState"]
    answer = {RESPONSE_KEY: {"action": "accept", "content": {"path": "/etc/hostname"}}}
    bad_states = {
        "garbage": ("not-a-state", "malformed"),
        "bad signature": (state[:-4] + ("AAAA" if not state.endswith("AAAA") else "BBBB"), "altered"),
        "forged tool": (_forge(state, tool="restart_service", arguments={"service": "x"}), "altered"),
        "other request": (other, "different request"),
    }
    for name, (bad, reason) in bad_states.items():
        reply = post(gateway, READ_ARGS, caps, requestState=bad, inputResponses=answer)
        assert "error" in reply, (name, reply)
        assert reply["error"]["code"] == types.INVALID_PARAMS, (name, reply)
        assert "requestState" in reply["error"]["message"] and reason in reply["error"]["message"], name

    # the state is bound to the call's arguments: the same state with other arguments is refused
    reply = post(gateway, {**READ_ARGS, "context": "x"}, caps, requestState=state, inputResponses=answer)
    assert reply["error"]["code"] == types.INVALID_PARAMS and "different request" in reply["error"]["message"]
    # a genuine state without the answer it asked for
    reply = post(gateway, READ_ARGS, caps, requestState=state, inputResponses={})
    assert reply["error"]["code"] == types.INVALID_PARAMS and RESPONSE_KEY in reply["error"]["message"]
    # ...and with it, it still works after all the refusals
    hello = str(gateway.workdir / "hello.txt")
    ok = {RESPONSE_KEY: {"action": "accept", "content": {"path": hello}}}
    done = post(gateway, READ_ARGS, caps, requestState=state, inputResponses=ok)["result"]
    assert done["structuredContent"]["status"] == "executed"
    assert done["content"][0]["text"] == "hello from a file\n"
    assert "Traceback" not in gateway.log()


async def test_sdk_client_sees_invalid_params_for_a_tampered_state(gateway: RunningGateway) -> None:
    async with modern(gateway, elicitation_callback=never_called) as client:
        first = await first_round(client, READ)
        assert first.request_state is not None
        with pytest.raises(MCPError) as caught:
            await client.session.call_tool(
                "smart_tool_discovery",
                READ_ARGS,
                input_responses={RESPONSE_KEY: accept(path="/etc/hostname")},
                request_state=_forge(first.request_state, arguments={"path": "/etc/passwd"}),
            )
    assert caught.value.error.code == types.INVALID_PARAMS
    assert "requestState" in caught.value.error.message


def test_expired_state_is_refused() -> None:
    rounds = InputRounds(ttl=-1.0)
    ctx = CallContext()
    binding = rounds.binding("smart_tool_discovery", READ_ARGS, ctx)
    state = rounds.issue(binding, "read_file", Mapping(missing=["path"]), {"tool": "read_file"})
    with pytest.raises(MCPError, match="expired") as caught:
        rounds.verify(state, binding)
    assert caught.value.error.code == types.INVALID_PARAMS
    fresh = InputRounds()
    with pytest.raises(MCPError, match="altered"):  # another process's key
        fresh.verify(InputRounds().issue(binding, "read_file", Mapping(), {}), binding)


def test_answered_state_is_not_accepted_again() -> None:
    rounds = InputRounds()
    binding = rounds.binding("smart_tool_discovery", READ_ARGS, CallContext())
    state = rounds.issue(binding, "read_file", Mapping(missing=["path"]), {"tool": "read_file"})
    pending = rounds.verify(state, binding)
    rounds.verify(state, binding)  # verifying alone (e.g. a malformed reply) does not use it up
    rounds.spend(pending)
    with pytest.raises(MCPError, match="already answered") as caught:
        rounds.verify(state, binding)
    assert caught.value.error.code == types.INVALID_PARAMS
    other = rounds.issue(binding, "read_file", Mapping(missing=["path"]), {"tool": "read_file"})
    rounds.spend(rounds.verify(other, binding))  # every round has its own state


# ---- with the security pipeline -----------------------------------------------------------
async def test_advanced_mode_pipeline_passes_the_round(tmp_path: Path) -> None:
    """Audit and sanitization see an ordinary result; the client still gets input_required."""
    config = {
        **BASE_CONFIG,
        "deployment": {"runtime_mode": "advanced"},
        "auth": {"enabled": False},
        "storage": {"data_dir": str(tmp_path / "data")},
        "external_mcp": {"config_file": None},
    }
    hello = str(tmp_path / "hello.txt")
    env = {"MAGICTUNNEL_ADMIN_PASSWORD": "Discovery-Tests-Passw0rd"}
    with run_gateway(make_workdir(tmp_path, config), env=env, timeout=90) as gw:
        async with modern(gw, elicitation_callback=answering(accept(path=hello))) as client:
            result = await client.call_tool("smart_tool_discovery", READ_ARGS)
        out = payload(result)
        assert out["status"] == "executed" and result.content[0].text == "hello from a file\n", out
        assert "started in advanced mode" in gw.log() and "Traceback" not in gw.log()
