"""Chat-completion providers over HTTP: OpenAI-compatible (`/chat/completions`, which also
covers vLLM, LM Studio, llama.cpp servers and most hosted gateways), Anthropic (`/v1/messages`)
and Ollama (`/api/chat`).

One call shape for all: `await provider.complete(messages, system=..., max_tokens=...,
temperature=...) -> Completion`. Messages are `{"role": "user"|"assistant", "content": str}`.
Provider settings (a mapping, e.g. from config or a tool's routing)::

    type: openai | anthropic | ollama
    base_url: http://127.0.0.1:11434          # default per type
    model: llama3.2
    api_key_env: OPENAI_API_KEY               # or api_key_credential (vault) / api_key
    timeout: 60
    headers: {X-Extra: value}

API keys are sent only in the provider's auth header and never logged or put in errors.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import httpx

DEFAULT_BASE_URLS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "ollama": "http://127.0.0.1:11434",
}
ANTHROPIC_VERSION = "2023-06-01"
PROVIDER_TYPES = tuple(DEFAULT_BASE_URLS)


class LLMError(Exception):
    """A provider call that failed: connection, HTTP status, or an unexpected response."""


@dataclass
class Completion:
    text: str
    model: str
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "model": self.model,
            "finish_reason": self.finish_reason,
            "usage": self.usage,
        }


class _Provider:
    kind = ""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        headers: dict[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.base_url = (base_url or DEFAULT_BASE_URLS[self.kind]).rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._client = client

    def _auth_headers(self) -> dict[str, str]:
        return {}

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        headers = {"Content-Type": "application/json", **self.headers, **self._auth_headers()}
        client = self._client or httpx.AsyncClient(trust_env=False)
        try:
            response = await client.post(url, json=payload, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise LLMError(f"{self.kind} provider at {self.base_url}: {type(exc).__name__}: {exc}") from None
        finally:
            if self._client is None:
                await client.aclose()
        if response.status_code >= 400:
            detail = _error_detail(response)
            if self.api_key:
                detail = detail.replace(self.api_key, "[REDACTED]")
            raise LLMError(f"{self.kind} provider returned HTTP {response.status_code}: {detail}")
        try:
            body = response.json()
        except ValueError:
            raise LLMError(f"{self.kind} provider returned a non-JSON response") from None
        if not isinstance(body, dict):
            raise LLMError(f"{self.kind} provider returned an unexpected response: {str(body)[:200]}")
        return body

    async def complete(
        self,
        messages: list[dict[str, str]],
        system: str | None = None,
        max_tokens: int = 1024,
        temperature: float | None = None,
        model: str | None = None,
    ) -> Completion:
        raise NotImplementedError


class OpenAIProvider(_Provider):
    kind = "openai"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def complete(
        self,
        messages: list[dict[str, str]],
        system: str | None = None,
        max_tokens: int = 1024,
        temperature: float | None = None,
        model: str | None = None,
    ) -> Completion:
        chat = ([{"role": "system", "content": system}] if system else []) + list(messages)
        payload: dict[str, Any] = {"model": model or self.model, "messages": chat, "max_tokens": max_tokens}
        if temperature is not None:
            payload["temperature"] = temperature
        body = await self._post("/chat/completions", payload)
        try:
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise LLMError(f"openai provider: unexpected response shape: {json.dumps(body)[:300]}") from None
        usage = body.get("usage") or {}
        return Completion(
            text=text,
            model=str(body.get("model") or payload["model"]),
            finish_reason=choice.get("finish_reason"),
            usage={
                "input_tokens": int(usage.get("prompt_tokens") or 0),
                "output_tokens": int(usage.get("completion_tokens") or 0),
            },
            raw=body,
        )


class AnthropicProvider(_Provider):
    kind = "anthropic"

    def _auth_headers(self) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        return headers

    async def complete(
        self,
        messages: list[dict[str, str]],
        system: str | None = None,
        max_tokens: int = 1024,
        temperature: float | None = None,
        model: str | None = None,
    ) -> Completion:
        payload: dict[str, Any] = {
            "model": model or self.model,
            "max_tokens": max_tokens,
            "messages": list(messages),
        }
        if system:
            payload["system"] = system
        if temperature is not None:
            payload["temperature"] = temperature
        body = await self._post("/v1/messages", payload)
        blocks = body.get("content")
        if not isinstance(blocks, list):
            raise LLMError(f"anthropic provider: unexpected response shape: {json.dumps(body)[:300]}")
        text = "".join(b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        usage = body.get("usage") or {}
        return Completion(
            text=text,
            model=str(body.get("model") or payload["model"]),
            finish_reason=body.get("stop_reason"),
            usage={
                "input_tokens": int(usage.get("input_tokens") or 0),
                "output_tokens": int(usage.get("output_tokens") or 0),
            },
            raw=body,
        )


class OllamaProvider(_Provider):
    kind = "ollama"

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    async def complete(
        self,
        messages: list[dict[str, str]],
        system: str | None = None,
        max_tokens: int = 1024,
        temperature: float | None = None,
        model: str | None = None,
    ) -> Completion:
        chat = ([{"role": "system", "content": system}] if system else []) + list(messages)
        options: dict[str, Any] = {"num_predict": max_tokens}
        if temperature is not None:
            options["temperature"] = temperature
        payload = {"model": model or self.model, "messages": chat, "stream": False, "options": options}
        body = await self._post("/api/chat", payload)
        message = body.get("message")
        if not isinstance(message, dict):
            raise LLMError(f"ollama provider: unexpected response shape: {json.dumps(body)[:300]}")
        return Completion(
            text=str(message.get("content") or ""),
            model=str(body.get("model") or payload["model"]),
            finish_reason=body.get("done_reason"),
            usage={
                "input_tokens": int(body.get("prompt_eval_count") or 0),
                "output_tokens": int(body.get("eval_count") or 0),
            },
            raw=body,
        )


_CLASSES: dict[str, type[_Provider]] = {
    "openai": OpenAIProvider,
    "anthropic": AnthropicProvider,
    "ollama": OllamaProvider,
}


def check_provider_config(config: dict[str, Any], where: str = "") -> list[str]:
    prefix = f"{where}." if where else ""
    problems = []
    kind = config.get("type", config.get("provider"))
    if kind not in _CLASSES:
        problems.append(f"{prefix}provider: expected one of {', '.join(PROVIDER_TYPES)}, got {kind!r}")
    if not isinstance(config.get("model"), str) or not config.get("model"):
        problems.append(f"{prefix}model: required, the model name")
    base = config.get("base_url")
    if base is not None and (not isinstance(base, str) or not base.startswith(("http://", "https://"))):
        problems.append(f"{prefix}base_url: expected an http(s) URL")
    return problems


def make_provider(
    config: dict[str, Any], api_key: str | None = None, client: httpx.AsyncClient | None = None
) -> _Provider:
    """A provider from settings; `api_key` (e.g. from the vault) wins over `api_key_env`/`api_key`."""
    problems = check_provider_config(config)
    if problems:
        raise LLMError("; ".join(problems))
    kind = str(config.get("type", config.get("provider")))
    key = api_key or (os.environ.get(str(config["api_key_env"])) if config.get("api_key_env") else None)
    key = key or config.get("api_key")
    return _CLASSES[kind](
        model=str(config["model"]),
        base_url=config.get("base_url"),
        api_key=key,
        timeout=float(config.get("timeout") or 60.0),
        headers=config.get("headers"),
        client=client,
    )


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    return json.dumps(body)[:300]


__all__ = [
    "AnthropicProvider",
    "Completion",
    "LLMError",
    "OllamaProvider",
    "OpenAIProvider",
    "check_provider_config",
    "make_provider",
]
