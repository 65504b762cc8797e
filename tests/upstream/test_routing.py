"""Which client a server->client request or log message from an upstream reaches, when calls from
several clients are in flight on that upstream at once."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from magictunnel.upstream.config import ServerSpec
from magictunnel.upstream.connection import UpstreamConnection
from magictunnel.upstream.http_correlation import RELATED_META_KEY, mark_related
from magictunnel.upstream.routing import WIRE_ID_BASE
from tests.upstream.conftest import running_gateway, stdio_server
from tests.upstream.test_forwarding import Recorder, client, in_flight

pytestmark = pytest.mark.anyio
LOG_LINES = ["Tool execution started", "Tool processing data", "Tool execution completed"]


async def log_beside_another_call(gw: Any, a: Any, b: Any) -> None:
    """Client a's call logs three lines while client b's call is in flight on fx."""
    await a.set_logging_level("debug")
    await b.set_logging_level("debug")
    async with anyio.create_task_group() as tg:
        tg.start_soon(b.call_tool, "fx_slow", {"seconds": 1.5})
        await in_flight(gw, "fx", 1)
        logged = await a.call_tool("fx_test_tool_with_logging", {})
    assert logged.is_error is False


async def test_a_server_request_never_reaches_another_clients_call(tmp_path: Path) -> None:
    """On a handshake-era stdio upstream nothing ties an elicitation to the call that caused it
    (a 2026-07-28 one answers input_required, which is tied to its call): while calls from two
    clients are in flight, it is refused rather than shown to whichever client called last."""
    async with running_gateway(tmp_path, {"fx": {**stdio_server(), "protocol": "legacy"}}) as gw:
        alice, bob = Recorder(), Recorder()
        async with client(gw, alice) as a, client(gw, bob) as b:
            results: dict[str, Any] = {}

            async def ask_alice() -> None:
                try:
                    results["alice"] = await a.call_tool(
                        "fx_late_elicitation", {"message": "alice's account PIN?", "delay": 1.0}
                    )
                except MCPError as exc:  # the upstream's tool fails when its question is refused
                    results["alice"] = exc

            async with anyio.create_task_group() as tg:
                tg.start_soon(ask_alice)
                await in_flight(gw, "fx", 1)
                # bob's call starts after alice's and is still running when her tool asks
                await b.call_tool("fx_slow", {"seconds": 2.0})
            assert bob.elicit == [] and alice.elicit == []
            refused = results["alice"]
            assert isinstance(refused, MCPError)
            assert "calls from 2 clients are in flight on fx" in refused.error.message

            # log lines of a call made while another client's call runs reach neither client
            await log_beside_another_call(gw, a, b)
            assert alice.logs == [] and bob.logs == []
            # ... and reach the caller again once its call is the only one
            await a.call_tool("fx_test_tool_with_logging", {})
            with anyio.fail_after(5):
                while len(alice.logs) < 3:
                    await anyio.sleep(0.02)
            assert bob.logs == []

            # one client with two calls in flight is still asked: the question is its own
            async with anyio.create_task_group() as tg:
                tg.start_soon(ask_alice)
                await in_flight(gw, "fx", 1)
                await a.call_tool("fx_slow", {"seconds": 2.0})
            assert [e.message for e in alice.elicit] == ["alice's account PIN?"] and bob.elicit == []
            assert "from the user" in results["alice"].content[0].text  # type: ignore[union-attr]


async def test_on_streamable_http_each_question_reaches_the_client_whose_call_asked(
    tmp_path: Path, http_fixture: str
) -> None:
    """A Streamable HTTP server sends a call's questions and log lines on that call's own SSE
    stream: the gateway sends them to that call's client, whoever else has calls in flight."""
    servers = {"fx": {"type": "http", "url": http_fixture, "protocol": "legacy"}}
    async with running_gateway(tmp_path, servers) as gw:
        alice, bob = Recorder(), Recorder()
        async with client(gw, alice) as a, client(gw, bob) as b:
            results: dict[str, Any] = {}

            async def ask(who: Any, key: str, question: str, delay: float) -> None:
                results[key] = await who.call_tool(
                    "fx_late_elicitation", {"message": question, "delay": delay}
                )

            async with anyio.create_task_group() as tg:
                tg.start_soon(ask, a, "alice", "alice's account PIN?", 1.0)
                await in_flight(gw, "fx", 1)
                # bob's own question comes while alice's call waits on hers, and before it
                tg.start_soon(ask, b, "bob", "bob's favourite colour?", 0.3)
                await b.call_tool("fx_slow", {"seconds": 1.5})
            assert [e.message for e in alice.elicit] == ["alice's account PIN?"]
            assert [e.message for e in bob.elicit] == ["bob's favourite colour?"]
            # the transport's mark stays inside the gateway
            assert all(RELATED_META_KEY not in (e.meta or {}) for e in alice.elicit + bob.elicit)
            for key in ("alice", "bob"):
                assert "from the user" in results[key].content[0].text

            await log_beside_another_call(gw, a, b)
            with anyio.fail_after(5):
                while len(alice.logs) < 3:
                    await anyio.sleep(0.02)
            assert [log.data for log in alice.logs][:3] == LOG_LINES
            assert bob.logs == []
            assert all(RELATED_META_KEY not in (log.meta or {}) for log in alice.logs)


def test_only_server_requests_and_log_messages_are_marked() -> None:
    marked = mark_related('{"jsonrpc":"2.0","id":4,"method":"roots/list"}', 1000000007)
    assert '"_meta":{"io.magictunnel/related-request":1000000007}' in marked
    log_line = '{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}'
    assert RELATED_META_KEY in mark_related(log_line, 3)
    for unchanged in (
        '{"jsonrpc":"2.0","id":1000000007,"result":{"method":"x"}}',  # a response
        '{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1}}',
        '{"jsonrpc":"2.0","method":"elicitation/create","params":[1]}',  # not an object: the SDK rejects it
        'not json, with a "method"',
    ):
        assert mark_related(unchanged, 1) is unchanged


def test_a_mark_the_server_wrote_itself_is_not_trusted() -> None:
    """Only our transport knows which stream a message came on: a mark on the standalone GET
    stream is removed, and over stdio (no such transport) a mark is ignored."""
    forged = (
        '{"jsonrpc":"2.0","id":9,"method":"elicitation/create",'
        '"params":{"message":"PIN?","_meta":{"io.magictunnel/related-request":1000000001}}}'
    )
    assert RELATED_META_KEY not in mark_related(forged, None)
    assert "PIN?" in mark_related(forged, None)

    conn = UpstreamConnection(ServerSpec(name="fx", command="x"), listener=None)  # type: ignore[arg-type]
    alice, bob = SimpleNamespace(session_id="alice"), SimpleNamespace(session_id="bob")
    conn._inflight.update({1: alice, 2: bob})
    payload = {"message": "PIN?", "_meta": {RELATED_META_KEY: WIRE_ID_BASE + 1}}
    assert conn._route(payload) == (None, False)  # two clients in flight, and no trusted mark
    assert payload == {"message": "PIN?"}  # the mark is never forwarded
    conn.spec = ServerSpec(name="fx", type="http", url="http://127.0.0.1:1/mcp")
    assert conn._route({"_meta": {RELATED_META_KEY: WIRE_ID_BASE + 1}}) == (alice, True)
    assert conn._route({"_meta": {RELATED_META_KEY: WIRE_ID_BASE + 3}}) == (None, True)


async def test_a_call_no_client_made_never_asks_another_client(tmp_path: Path) -> None:
    """A call made without an MCP client (the REST API, say) asks while a client's call is in
    flight on the same stdio server: the question is refused, not shown to that client."""
    async with running_gateway(tmp_path, {"fx": {**stdio_server(), "protocol": "legacy"}}) as gw:
        conn = gw.extensions["upstream_manager"].connections["fx"]
        alice = Recorder()
        async with client(gw, alice) as a:
            results: dict[str, Any] = {}

            async def anonymous() -> None:
                args = {"message": "whose PIN?", "delay": 0.5}
                try:
                    results["raw"] = await conn.raw_request(
                        "tools/call", {"name": "late_elicitation", "arguments": args}
                    )
                except MCPError as exc:
                    results["raw"] = exc

            async with anyio.create_task_group() as tg:
                tg.start_soon(a.call_tool, "fx_slow", {"seconds": 1.5})
                await in_flight(gw, "fx", 1)
                tg.start_soon(anonymous)
            assert alice.elicit == []
            refused = results["raw"]
            assert isinstance(refused, MCPError) and "calls from 2 clients" in refused.error.message
            # alone, it has no one to ask
            with pytest.raises(MCPError, match="made by no MCP client"):
                await conn.raw_request(
                    "tools/call", {"name": "late_elicitation", "arguments": {"message": "?", "delay": 0}}
                )
