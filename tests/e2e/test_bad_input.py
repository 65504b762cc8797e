"""Malformed JSON, unknown methods and sessions, oversize bodies, bad Host/Origin: correct errors,
and other sessions keep working."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import Client
from websockets.sync.client import connect

from tests.support.gateway import RunningGateway, basic_workdir, run_gateway

HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "1"},
    },
}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    workdir = basic_workdir(tmp_path_factory.mktemp("bad"))
    with run_gateway(workdir, {"server": {"max_request_body_bytes": 65536}}) as running:
        yield running


def _sse_json(response: httpx.Response) -> dict:
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.json()
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            return json.loads(line[5:])
    raise AssertionError(f"no JSON-RPC message in {response.text!r}")


def _session(gw: RunningGateway) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(timeout=10)
    response = client.post(gw.mcp_url, headers=HEADERS, json=INIT)
    assert response.status_code == 200
    headers = {
        **HEADERS,
        "mcp-session-id": response.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-06-18",
    }
    client.post(gw.mcp_url, headers=headers, json={"jsonrpc": "2.0", "method": "notifications/initialized"})
    return client, headers


def test_malformed_json_is_a_parse_error(gw: RunningGateway) -> None:
    response = httpx.post(gw.mcp_url, headers=HEADERS, content=b"{not json")
    assert response.status_code == 400
    assert _sse_json(response)["error"]["code"] == -32700


def test_unknown_method(gw: RunningGateway) -> None:
    client, headers = _session(gw)
    response = client.post(
        gw.mcp_url, headers=headers, json={"jsonrpc": "2.0", "id": 7, "method": "nope/nothing"}
    )
    body = _sse_json(response)
    assert body["id"] == 7 and body["error"]["code"] == -32601


def test_unknown_session(gw: RunningGateway) -> None:
    headers = {**HEADERS, "mcp-session-id": "does-not-exist", "mcp-protocol-version": "2025-06-18"}
    response = httpx.post(
        gw.mcp_url, headers=headers, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    )
    assert response.status_code == 404


def test_oversize_body(gw: RunningGateway) -> None:
    big = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"message": "x" * 200_000}},
    }
    response = httpx.post(gw.mcp_url, headers=HEADERS, json=big)
    assert response.status_code == 413


def test_dns_rebinding_host_rejected(gw: RunningGateway) -> None:
    response = httpx.post(gw.mcp_url, headers={**HEADERS, "host": "evil.example:80"}, json=INIT)
    assert response.status_code == 421
    response = httpx.post(gw.mcp_url, headers={**HEADERS, "origin": "http://evil.example"}, json=INIT)
    assert response.status_code == 403


def test_delete_ends_session(gw: RunningGateway) -> None:
    client, headers = _session(gw)
    assert client.delete(gw.mcp_url, headers=headers).status_code == 200
    response = client.post(
        gw.mcp_url, headers=headers, json={"jsonrpc": "2.0", "id": 4, "method": "tools/list"}
    )
    assert response.status_code == 404


def test_websocket_garbage_frame_gets_parse_error_and_session_survives(gw: RunningGateway) -> None:
    with connect(gw.ws_url, subprotocols=["mcp"]) as ws:
        ws.send("{garbage")
        reply = json.loads(ws.recv(timeout=5))
        assert reply["error"]["code"] == -32700
        ws.send(json.dumps(INIT))
        reply = json.loads(ws.recv(timeout=5))
        assert reply["id"] == 1 and "result" in reply


def test_websocket_bad_origin_refused(gw: RunningGateway) -> None:
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    with pytest.raises((ConnectionClosed, InvalidStatus)):
        with connect(gw.ws_url, subprotocols=["mcp"], origin="http://evil.example") as ws:
            ws.recv(timeout=5)


@pytest.mark.anyio
async def test_other_sessions_unaffected(gw: RunningGateway) -> None:
    async with Client(gw.mcp_url, mode="legacy") as client:
        async with httpx.AsyncClient() as raw:
            await raw.post(gw.mcp_url, headers=HEADERS, content=b"\x00\xff garbage")
        result = await client.call_tool("echo", {"message": "still fine"})
        assert result.content[0].text.strip() == "still fine"


def test_rest_errors(gw: RunningGateway) -> None:
    response = httpx.post(f"{gw.base_url}/api/tools/no_such/call", json={})
    assert response.status_code == 404 and "Unknown tool" in response.json()["error"]
    response = httpx.post(f"{gw.base_url}/api/tools/echo/call", content=b"[1,2", headers=HEADERS)
    assert response.status_code == 400
    response = httpx.post(f"{gw.base_url}/api/tools/echo/call", json={"message": 5})
    assert response.status_code == 200 and response.json()["isError"] is True
    assert "message" in response.json()["content"][0]["text"]


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "magictunnel-config.yaml").write_text("server:\n  port: abc\n")
    proc = subprocess.run(
        [sys.executable, "-m", "magictunnel", "serve"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "magictunnel-config.yaml: server.port: expected an integer" in proc.stderr
    assert '"abc"' in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"])
def test_every_handshake_version_is_negotiated(gw: RunningGateway, version: str) -> None:
    init = {**INIT, "params": {**INIT["params"], "protocolVersion": version}}
    response = httpx.post(gw.mcp_url, headers=HEADERS, json=init)
    assert response.status_code == 200
    assert _sse_json(response)["result"]["protocolVersion"] == version


def test_modern_request_without_envelope_is_refused(gw: RunningGateway) -> None:
    headers = {**HEADERS, "mcp-protocol-version": "2026-07-28"}
    response = httpx.post(
        gw.mcp_url, headers=headers, json={"jsonrpc": "2.0", "id": 9, "method": "server/discover"}
    )
    body = _sse_json(response)
    assert body["error"]["code"] == -32602 and "protocolVersion" in body["error"]["message"]
