"""Optional LLM re-ranking over HTTP, against a local server speaking the providers' real API shapes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from magictunnel.discovery.service import DiscoveryService
from magictunnel.pipeline.context import CallContext
from tests.discovery.test_feature import make_gateway

pytestmark = pytest.mark.anyio

ANSWER = {"tool": "get_weather", "arguments": {"city": "Lisbon", "units": "metric"}, "reason": "forecast"}


class FakeProvider(BaseHTTPRequestHandler):
    """OpenAI /v1/chat/completions, Anthropic /v1/messages and Ollama /api/chat, answering ANSWER."""

    seen: list[dict] = []
    answer: str = json.dumps(ANSWER)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        FakeProvider.seen.append(
            {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        )
        text = FakeProvider.answer
        if self.path == "/v1/chat/completions":
            reply = {
                "id": "c1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                ],
            }
        elif self.path == "/v1/messages":
            reply = {
                "id": "m1",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
            }
        elif self.path == "/api/chat":
            reply = {"model": body["model"], "done": True, "message": {"role": "assistant", "content": text}}
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def provider() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeProvider.seen = []
    FakeProvider.answer = json.dumps(ANSWER)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("kind", "base_suffix", "path"),
    [
        ("openai", "/v1", "/v1/chat/completions"),
        ("anthropic", "", "/v1/messages"),
        ("ollama", "", "/api/chat"),
    ],
)
async def test_llm_picks_tool_and_arguments(
    tmp_path: Path, provider: str, kind: str, base_suffix: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_LLM_KEY", "sk-test-123")
    gw = make_gateway(
        tmp_path,
        smart_discovery={
            "llm_mode": "http",
            "llm_provider": kind,
            "llm_base_url": provider + base_suffix,
            "llm_model": "test-model",
            "llm_api_key_env": "FAKE_LLM_KEY",
        },
    )
    await gw.start()
    try:
        service: DiscoveryService = gw.extensions["discovery"]
        await service.ready()
        # a vague request the offline ranking alone would not run; the model decides
        result = await gw.call_tool(
            "smart_tool_discovery", {"request": "should I pack a coat for Lisbon"}, CallContext()
        )
        out = result.structured_content
        assert out["status"] == "executed", out
        assert out["tool"] == "get_weather"
        assert out["parameters"] == {"city": "Lisbon", "units": "metric"}
        assert out["reasoning"].startswith("language model")
        assert out["result"]["content"][0]["text"].strip() == "weather Lisbon metric"
    finally:
        await gw.stop()
    request = FakeProvider.seen[-1]
    assert request["path"] == path
    assert request["body"]["model"] == "test-model"
    prompt = json.dumps(request["body"])
    assert "should I pack a coat for Lisbon" in prompt and "get_weather" in prompt
    if kind == "openai":
        assert request["headers"]["authorization"] == "Bearer sk-test-123"
    if kind == "anthropic":
        assert request["headers"]["x-api-key"] == "sk-test-123"
        assert request["headers"]["anthropic-version"]


async def test_bad_model_answers_fall_back_to_the_offline_ranking(tmp_path: Path, provider: str) -> None:
    gw = make_gateway(
        tmp_path,
        smart_discovery={
            "llm_mode": "http",
            "llm_provider": "openai",
            "llm_base_url": provider + "/v1",
            "llm_model": "m",
        },
    )
    await gw.start()
    try:
        await gw.extensions["discovery"].ready()
        FakeProvider.answer = '{"tool": "no_such_tool"}'
        out = (
            await gw.call_tool(
                "smart_tool_discovery", {"request": "read the file /etc/hostname"}, CallContext()
            )
        ).structured_content
        assert out["tool"] == "read_file" and "semantic similarity" in out["reasoning"]
        FakeProvider.answer = '{"tool": "none", "reason": "nothing fits"}'
        out = (
            await gw.call_tool(
                "smart_tool_discovery", {"request": "read the file /etc/hostname"}, CallContext()
            )
        ).structured_content
        assert out["status"] == "below_threshold" and "nothing fits" in out["reasoning"]
    finally:
        await gw.stop()
