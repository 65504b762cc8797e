"""The llm backend and providers against a local fake speaking the real provider APIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from local_http_app import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from magictunnel.backends.base import BackendError
from magictunnel.backends.http_client import SharedHttpClient
from magictunnel.backends.llm import LLMBackend
from magictunnel.catalog.models import ToolDef
from magictunnel.llm import LLMError, make_provider
from magictunnel.pipeline.context import CallContext

SEEN: list[dict[str, Any]] = []


async def openai_chat(request: Request) -> JSONResponse:
    body = await request.json()
    SEEN.append({"api": "openai", "headers": dict(request.headers), "body": body})
    if request.headers.get("authorization") != "Bearer sk-test":
        return JSONResponse(
            {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}},
            status_code=401,
        )
    last = body["messages"][-1]["content"]
    text = '```json\n{"sentiment": "positive"}\n```' if "JSON" in last else f"echo: {last}"
    return JSONResponse(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
        }
    )


async def anthropic_messages(request: Request) -> JSONResponse:
    body = await request.json()
    SEEN.append({"api": "anthropic", "headers": dict(request.headers), "body": body})
    if (
        request.headers.get("x-api-key") != "ak-test"
        or request.headers.get("anthropic-version") != "2023-06-01"
    ):
        return JSONResponse(
            {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}},
            status_code=401,
        )
    return JSONResponse(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": f"claude says: {body['messages'][-1]['content']}"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 9, "output_tokens": 4},
        }
    )


async def ollama_chat(request: Request) -> JSONResponse:
    body = await request.json()
    SEEN.append({"api": "ollama", "headers": dict(request.headers), "body": body})
    if body["model"] == "missing":
        return JSONResponse({"error": "model 'missing' not found"}, status_code=404)
    return JSONResponse(
        {
            "model": body["model"],
            "created_at": "2024-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": "llama reply"},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": 7,
            "eval_count": 2,
        }
    )


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", openai_chat, methods=["POST"]),
            Route("/v1/messages", anthropic_messages, methods=["POST"]),
            Route("/api/chat", ollama_chat, methods=["POST"]),
        ]
    )
    with serve(app) as url:
        yield url


class DictVault:
    def get_secret(self, name: str) -> str | None:
        return {"openai.key": "sk-test", "anthropic.key": "ak-test"}.get(name)


async def run(config: dict[str, Any], args: dict[str, Any]) -> Any:
    tool = ToolDef(name="llm", routing={"type": "llm", "config": config})
    return await LLMBackend(SharedHttpClient(), DictVault()).execute(tool, args, CallContext())


@pytest.mark.anyio
async def test_openai_compatible_completion(base_url: str) -> None:
    SEEN.clear()
    config = {
        "provider": "openai",
        "base_url": f"{base_url}/v1",
        "model": "gpt-test",
        "api_key_credential": "openai.key",
        "system": "You are terse.",
        "prompt": "Summarise: {text}",
        "max_tokens": 50,
        "temperature": 0.2,
    }
    result = await run(config, {"text": "a long story"})
    assert result.content[0].text == "echo: Summarise: a long story"
    assert result.structured_content == {
        "text": "echo: Summarise: a long story",
        "model": "gpt-test",
        "finish_reason": "stop",
        "usage": {"input_tokens": 11, "output_tokens": 3},
    }
    sent = SEEN[-1]["body"]
    assert sent["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Summarise: a long story"},
    ]
    assert sent["max_tokens"] == 50 and sent["temperature"] == 0.2


@pytest.mark.anyio
async def test_anthropic_and_ollama(base_url: str) -> None:
    SEEN.clear()
    anthropic = await run(
        {
            "provider": "anthropic",
            "base_url": base_url,
            "model": "claude-test",
            "api_key_credential": "anthropic.key",
            "system": "Be brief.",
        },
        {"prompt": "hi"},
    )
    assert anthropic.content[0].text == "claude says: hi"
    assert SEEN[-1]["body"]["system"] == "Be brief." and SEEN[-1]["body"]["max_tokens"] == 1024
    ollama = await run(
        {
            "provider": "ollama",
            "base_url": base_url,
            "model": "llama3",
            "messages": [{"role": "user", "content": "Translate {word}"}],
        },
        {"word": "chat"},
    )
    assert ollama.content[0].text == "llama reply"
    assert ollama.structured_content["usage"] == {"input_tokens": 7, "output_tokens": 2}
    assert (
        SEEN[-1]["body"]["stream"] is False and SEEN[-1]["body"]["messages"][0]["content"] == "Translate chat"
    )


@pytest.mark.anyio
async def test_json_response_mode(base_url: str) -> None:
    config = {
        "provider": "openai",
        "base_url": f"{base_url}/v1",
        "model": "m",
        "api_key_credential": "openai.key",
        "prompt": "Answer in JSON: {q}",
        "response": "json",
    }
    result = await run(config, {"q": "mood?"})
    assert result.structured_content == {"sentiment": "positive"}


@pytest.mark.anyio
async def test_provider_errors_are_results_without_secrets(base_url: str) -> None:
    bad_key = await run(
        {
            "provider": "openai",
            "base_url": f"{base_url}/v1",
            "model": "m",
            "api_key_env": "MT_TEST_UNSET_KEY",
        },
        {"prompt": "x"},
    )
    assert bad_key.is_error and bad_key.content[0].text == (
        "openai provider returned HTTP 401: Incorrect API key provided"
    )
    missing = await run({"provider": "ollama", "base_url": base_url, "model": "missing"}, {"prompt": "x"})
    assert missing.content[0].text == "ollama provider returned HTTP 404: model 'missing' not found"
    down = await run({"provider": "ollama", "base_url": "http://127.0.0.1:1", "model": "m"}, {"prompt": "x"})
    assert down.is_error and "ollama provider at http://127.0.0.1:1: ConnectError" in down.content[0].text
    with pytest.raises(BackendError, match="prompt: empty"):
        await run({"provider": "ollama", "base_url": base_url, "model": "m"}, {})


@pytest.mark.anyio
async def test_make_provider_directly(base_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MT_TEST_OPENAI_KEY", "sk-test")
    provider = make_provider(
        {
            "type": "openai",
            "base_url": f"{base_url}/v1",
            "model": "gpt-test",
            "api_key_env": "MT_TEST_OPENAI_KEY",
        }
    )
    completion = await provider.complete([{"role": "user", "content": "ping"}])
    assert completion.text == "echo: ping" and completion.finish_reason == "stop"
    with pytest.raises(LLMError, match="provider: expected one of openai, anthropic, ollama"):
        make_provider({"type": "cohere", "model": "x"})


def test_check_config() -> None:
    assert LLMBackend().check_config(
        {"provider": "openai", "model": "m", "api_key": "sk-literal", "max_tokens": 0}
    ) == [
        "max_tokens: expected a positive integer",
        "api_key: a literal key does not belong in a capability file; use api_key_credential (vault) or api_key_env",
    ]
