"""`input_required` tool results through the advanced-mode security pipeline.

A real `magictunnel serve` in advanced mode (audit, lockdown, allowlist, RBAC, policy, sanitization
in and out) fronting the SDK "everything" fixture twice: `old` over the handshake era (it sends
elicitation/create mid-call; the gateway turns that into input_required rounds for a 2026-07-28
client) and `new` on 2026-07-28 (it answers input_required itself). The client is the official SDK
client in 2026-07-28 mode over Streamable HTTP, plus raw JSON-RPC posts with the `_meta` envelope
where the wire itself is the point.

Every stage must let the round through intact (the requestState untouched), audit must record it,
output sanitization must clean what is meant for people (the question) and nothing else, and the
retry carrying inputResponses/requestState is an ordinary call every security stage checks again.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support.gateway import RunningGateway, run_gateway
from tests.upstream.conftest import EVERYTHING

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]

MODERN = "2026-07-28"
ADMIN_TOKEN = "input-required-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SECRET = "sk-live-0123456789abcdefghijklmnop"  # the api_key detector's shape
# (tool, arguments, the answer the elicitation gets, what the finished call says)
OLD = ("old_test_elicitation", {"message": "who are you?"}, {"response": "Ada"}, '"response": "Ada"')
NEW = ("new_test_elicitation", {"message": "who are you?"}, {"response": "Ada"}, '"response": "Ada"')
NEW_STATE = ("new_test_input_required_result_request_state", {}, {"ok": True}, "state-ok: confirmed")


def config(tmp: Path) -> dict[str, Any]:
    return {
        "deployment": {"runtime_mode": "advanced"},
        "auth": {"enabled": False},
        "registry": {"paths": [], "hot_reload": False},
        "storage": {"data_dir": str(tmp / "data")},
        "security": {"admin_token": ADMIN_TOKEN, "poll_interval": 0.1},
        "external_mcp": {
            "config_file": None,
            "startup_wait": 30,
            "servers": {
                "old": {"command": sys.executable, "args": [EVERYTHING], "protocol": "legacy"},
                "new": {"command": sys.executable, "args": [EVERYTHING]},
            },
        },
    }


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    tmp = tmp_path_factory.mktemp("ir-advanced")
    env = {"MAGICTUNNEL_ADMIN_PASSWORD": "Input-Required-Passw0rd"}
    with run_gateway(tmp, config(tmp), env=env, timeout=90) as gw:
        assert "started in advanced mode" in gw.log()
        yield gw


def admin(gw: RunningGateway) -> httpx.Client:
    return httpx.Client(base_url=f"{gw.base_url}/api/security", headers=ADMIN, timeout=30)


def audit_entries(gw: RunningGateway, tool: str) -> list[dict[str, Any]]:
    with admin(gw) as api:
        r = api.get("/audit/entries", params={"tool": tool, "event_type": "tool_call", "limit": 1000})
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["entries"]))  # oldest first


def modern(gw: RunningGateway, **callbacks: Any) -> Client:
    return Client(streamable_http_client(gw.mcp_url), mode=MODERN, **callbacks)


def answering(content: dict[str, Any], asked: list[types.ElicitRequestParams]) -> Any:
    async def on_elicit(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action="accept", content=content)

    return on_elicit


async def never_called(ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
    raise AssertionError("the test answers the input request itself")


def text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


def post(gw: RunningGateway, tool: str, arguments: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A raw 2026-07-28 tools/call with the per-request `_meta` envelope (the client can elicit)."""
    meta = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
    }
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": "tools/call",
        "mcp-name": tool,
    }
    params = {"name": tool, "arguments": arguments, "_meta": meta, **extra}
    body = {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": params}
    reply = httpx.post(gw.mcp_url, headers=headers, json=body, timeout=60).json()
    assert "result" in reply, reply
    return reply["result"]


def accept(content: dict[str, Any]) -> dict[str, Any]:
    return {"action": "accept", "content": content}


# ---- the round trip -----------------------------------------------------------------------
@pytest.mark.parametrize("case", [OLD, NEW, NEW_STATE], ids=["handshake-upstream", "modern", "state"])
async def test_sdk_round_trip_is_audited(gateway: RunningGateway, case: tuple[Any, ...]) -> None:
    tool, arguments, answer, said = case
    before = len(audit_entries(gateway, tool))
    asked: list[types.ElicitRequestParams] = []
    async with modern(gateway, elicitation_callback=answering(answer, asked)) as client:
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, result
    assert said in text(result)
    assert len(asked) == 1
    entries = audit_entries(gateway, tool)[before:]
    assert [e["outcome"] for e in entries] == ["input_required", "success"], entries
    asking, done = entries
    assert asking["result"]["input_required"] is True
    assert [r["method"] for r in asking["result"]["input_requests"].values()] == ["elicitation/create"]
    assert asking["stage"] is None and asking["message"] == "the tool asked the client for input"
    assert done["details"]["input_responses"] == sorted(asking["result"]["input_requests"])
    assert said in done["result"]["text"]
    assert "Traceback" not in gateway.log()


@pytest.mark.parametrize("case", [OLD, NEW_STATE], ids=["handshake-upstream", "state"])
async def test_raw_round_is_intact_and_its_retry_completes(
    gateway: RunningGateway, case: tuple[Any, ...]
) -> None:
    tool, arguments, answer, said = case
    first = post(gateway, tool, arguments)
    assert first["resultType"] == "input_required", first
    assert "content" not in first and "isError" not in first  # not dressed up as a CallToolResult
    ((key, request),) = first["inputRequests"].items()
    assert request["method"] == "elicitation/create"
    assert request["params"]["requestedSchema"]["type"] == "object"
    state = first["requestState"]
    assert isinstance(state, str) and state and "REDACTED" not in state
    done = post(gateway, tool, arguments, inputResponses={key: accept(answer)}, requestState=state)
    assert done.get("resultType") in (None, "complete") and not done.get("isError"), done
    assert said in done["content"][0]["text"]


# ---- output sanitization ------------------------------------------------------------------
@pytest.mark.parametrize("tool", ["old_test_elicitation", "new_test_elicitation"])
async def test_a_secret_in_the_question_is_redacted_and_the_state_kept(
    gateway: RunningGateway, tool: str
) -> None:
    """Output sanitization (default: redact secrets) cleans the question shown to the user; the
    requestState and the request's structure pass untouched, so the retry still completes."""
    arguments = {"message": f"is {SECRET} your key?"}
    before = len(audit_entries(gateway, tool))
    async with modern(gateway, elicitation_callback=never_called) as client:
        first = await client.session.call_tool(tool, arguments, allow_input_required=True)
        assert isinstance(first, types.InputRequiredResult), first
        assert first.input_requests is not None  # (the modern fixture's round has no requestState)
        ((key, request),) = first.input_requests.items()
        assert isinstance(request, types.ElicitRequest)
        message = request.params.message
        assert SECRET not in message and "[REDACTED:api_key]" in message, message
        assert request.params.requested_schema["properties"]["response"]["type"] == "string"  # type: ignore[union-attr]
        done = await client.session.call_tool(
            tool,
            arguments,
            input_responses={key: types.ElicitResult(action="accept", content={"response": "yes"})},
            request_state=first.request_state,
        )
    assert isinstance(done, types.CallToolResult) and not done.is_error, done
    assert '"response": "yes"' in text(done)
    asking = audit_entries(gateway, tool)[before]
    assert asking["outcome"] == "input_required"
    assert asking["details"]["sanitization"]["output"]["findings"][0]["detector"] == "api_key"
    assert SECRET not in str(asking)


# ---- the retry is checked like any call ---------------------------------------------------
def _deny_with_allowlist(api: httpx.Client, tool: str) -> Any:
    r = api.post(
        "/allowlist/rules",
        json={"name": "no-retry", "match_type": "exact", "pattern": tool, "action": "deny", "priority": 100},
    )
    assert r.status_code == 201, r.text
    return lambda: api.delete(f"/allowlist/rules/{r.json()['id']}").raise_for_status()


def _deny_with_policy(api: httpx.Client, tool: str) -> Any:
    r = api.post(
        "/policies/rules", json={"name": "no-retry", "effect": "deny", "conditions": {"tools": [tool]}}
    )
    assert r.status_code == 201, r.text
    return lambda: api.delete(f"/policies/rules/{r.json()['id']}").raise_for_status()


def _deny_with_rbac(api: httpx.Client, tool: str) -> Any:
    """The calling client (whoever the first round's audit entry names: auth is off) is
    registered with RBAC, disabled."""
    (last,) = api.get("/audit/entries", params={"tool": tool, "limit": 1}).json()["entries"]
    client = last["client_id"]
    r = api.post("/rbac/clients", json={"id": client, "name": client, "enabled": False})
    assert r.status_code == 201, r.text
    return lambda: api.delete(f"/rbac/clients/{client}").raise_for_status()


def _deny_with_lockdown(api: httpx.Client, tool: str) -> Any:
    api.post("/lockdown/activate", json={"reason": "retry test"}).raise_for_status()
    return lambda: api.post("/lockdown/deactivate", json={"reason": "done"}).raise_for_status()


@pytest.mark.parametrize(
    ("deny", "stage"),
    [
        (_deny_with_allowlist, "allowlist"),
        (_deny_with_rbac, "rbac"),
        (_deny_with_policy, "policy"),
        (_deny_with_lockdown, "lockdown"),
    ],
    ids=["allowlist", "rbac", "policy", "lockdown"],
)
@pytest.mark.parametrize("case", [OLD, NEW_STATE], ids=["handshake-upstream", "state"])
async def test_the_retry_is_denied_like_any_call(
    gateway: RunningGateway, case: tuple[Any, ...], deny: Any, stage: str
) -> None:
    tool, arguments, answer, said = case
    before = len(audit_entries(gateway, tool))
    first = post(gateway, tool, arguments)
    assert first["resultType"] == "input_required", first
    ((key, _),) = first["inputRequests"].items()
    retry = {"inputResponses": {key: accept(answer)}, "requestState": first["requestState"]}
    with admin(gateway) as api:
        undo = deny(api, tool)
        try:
            denied = post(gateway, tool, arguments, **retry)
        finally:
            undo()
    assert denied.get("isError") is True, denied
    assert f"Denied by {stage}" in denied["content"][0]["text"]
    # the denial consumed nothing: once allowed again, the same retry completes
    done = post(gateway, tool, arguments, **retry)
    assert not done.get("isError") and said in done["content"][0]["text"], done
    entries = audit_entries(gateway, tool)[before:]
    assert [e["outcome"] for e in entries] == ["input_required", "denied", "success"], entries
    assert entries[1]["stage"] == stage
    assert entries[1]["details"]["input_responses"] == [key]


# ---- input sanitization of the answers ----------------------------------------------------
def _input_policy(api: httpx.Client, tool: str, action: str) -> Any:
    body = {"name": f"answers-{action}", "tool_pattern": tool, "direction": "input", "action": action}
    r = api.post("/sanitization/policies", json=body)
    assert r.status_code == 201, r.text
    return lambda: api.delete(f"/sanitization/policies/{r.json()['id']}").raise_for_status()


@pytest.mark.parametrize("tool", ["old_test_elicitation", "new_test_elicitation"])
async def test_a_secret_in_the_answers_is_blocked_by_the_input_policy(
    gateway: RunningGateway, tool: str
) -> None:
    """The retry's inputResponses go to the tool's server like arguments: the input policy checks
    them; a block consumes nothing, so the round can still be answered."""
    arguments = {"message": "what is your key?"}
    before = len(audit_entries(gateway, tool))
    first = post(gateway, tool, arguments)
    ((key, _),) = first["inputRequests"].items()
    state = {"requestState": first["requestState"]} if "requestState" in first else {}
    with admin(gateway) as api:
        undo = _input_policy(api, tool, "block")
        try:
            blocked = post(
                gateway, tool, arguments, inputResponses={key: accept({"response": SECRET})}, **state
            )
        finally:
            undo()
    assert blocked.get("isError") is True, blocked
    message = blocked["content"][0]["text"]
    assert "Denied by sanitization" in message and "input responses" in message and SECRET not in message
    done = post(gateway, tool, arguments, inputResponses={key: accept({"response": "fine"})}, **state)
    assert not done.get("isError") and '"response": "fine"' in done["content"][0]["text"], done
    entries = audit_entries(gateway, tool)[before:]
    assert [e["outcome"] for e in entries] == ["input_required", "blocked", "success"], entries
    assert entries[1]["stage"] == "sanitization" and SECRET not in str(entries[1])


@pytest.mark.parametrize("tool", ["old_test_elicitation", "new_test_elicitation"])
async def test_a_secret_in_the_answers_is_redacted_before_the_server_sees_it(
    gateway: RunningGateway, tool: str
) -> None:
    arguments = {"message": "what is your key?"}
    before = len(audit_entries(gateway, tool))
    with admin(gateway) as api:
        undo = _input_policy(api, tool, "redact")
        try:
            first = post(gateway, tool, arguments)
            ((key, _),) = first["inputRequests"].items()
            state = {"requestState": first["requestState"]} if "requestState" in first else {}
            done = post(gateway, tool, arguments, inputResponses={key: accept({"response": SECRET})}, **state)
        finally:
            undo()
    assert not done.get("isError"), done
    # the server echoes the answer it got: already redacted, so output sanitization found nothing
    assert "[REDACTED:api_key]" in done["content"][0]["text"] and SECRET not in str(done)
    entries = audit_entries(gateway, tool)[before:]
    assert [e["outcome"] for e in entries] == ["input_required", "success"], entries
    sanitized = entries[1]["details"]["sanitization"]
    assert sanitized["input_responses"]["policy"] == "answers-redact" and "output" not in sanitized


# ---- what output sanitization touches in a round (in process) -----------------------------
class _RedactEverything:
    """A stand-in sanitization service: every detector, redacting."""

    def process(self, tool: str, direction: str, value: Any) -> Any:
        from magictunnel.security import detectors
        from magictunnel.security.sanitization import Outcome

        new, findings = detectors.scan_value(value, detectors.DETECTORS, redact=True)
        return Outcome("redacted" if findings else "clean", "test", new if findings else value, findings)


async def test_sampling_and_roots_requests_keep_their_shape() -> None:
    from magictunnel.catalog.models import Routing, ToolDef
    from magictunnel.pipeline.context import CallContext, ToolCall
    from magictunnel.security.middleware import SanitizeOutputMiddleware

    state = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdGF0ZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"  # looks like a JWT
    wire = {
        "resultType": "input_required",
        "inputRequests": {
            "ask": {
                "method": "sampling/createMessage",
                "params": {
                    "systemPrompt": f"use {SECRET}",
                    "messages": [
                        {"role": "user", "content": {"type": "text", "text": f"my key is {SECRET}"}},
                        {"role": "user", "content": [{"type": "text", "text": "and mail ada@example.com"}]},
                    ],
                    "maxTokens": 50,
                },
            },
            "roots": {"method": "roots/list"},
        },
        "requestState": state,
    }
    asked = types.InputRequiredResult.model_validate(wire)

    async def upstream(ctx: Any, call: Any) -> Any:
        return asked

    ctx = CallContext()
    call = ToolCall(tool=ToolDef(name="t", routing=Routing(type="echo")), arguments={})
    out = await SanitizeOutputMiddleware(_RedactEverything())(ctx, call, upstream)  # type: ignore[arg-type]
    assert isinstance(out, types.InputRequiredResult)
    got = out.model_dump(by_alias=True, mode="json", exclude_none=True)
    assert got["requestState"] == state  # never scanned
    params = got["inputRequests"]["ask"]["params"]
    assert params["systemPrompt"] == "use [REDACTED:api_key]"
    assert params["messages"][0]["content"]["text"] == "my key is [REDACTED:api_key]"
    assert params["messages"][1]["content"][0]["text"] == "and mail [REDACTED:email]"
    assert params["maxTokens"] == 50 and got["inputRequests"]["roots"] == {"method": "roots/list"}
    findings = ctx.notes["sanitization"]["output"]["findings"]
    assert {f["detector"] for f in findings} == {"api_key", "email"}
