"""Optional LLM re-ranking and parameter mapping (off by default: smart_discovery.llm_mode = none).

- `sampling`: ask the connected client's own model through MCP sampling (when it declares it);
- `http`: an OpenAI-compatible (`POST {base}/chat/completions`), Anthropic (`POST {base}/v1/messages`)
  or Ollama (`POST {base}/api/chat`) endpoint at `llm_base_url`, key from the env var `llm_api_key_env`.

The model sees the top candidates with their schemas and answers with JSON naming one tool (or
"none") and its arguments. Any failure falls back to the offline ranking and rule-based mapping.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx

from magictunnel.config.models import SmartDiscoveryConfig
from magictunnel.discovery.index import Hit
from magictunnel.llm.providers import LLMError, make_provider
from magictunnel.pipeline.context import CallContext

log = logging.getLogger("magictunnel.discovery.llm")

SYSTEM_PROMPT = (
    "You route a user's request to exactly one tool. Answer with a single JSON object and nothing else: "
    '{"tool": "<candidate name or none>", "arguments": {<arguments for its input schema>}, '
    '"reason": "<one sentence>"}. Use "none" when no candidate serves the request. Only use argument '
    "values stated or clearly implied by the request."
)


@dataclass
class Advice:
    hit: Hit | None
    arguments: dict[str, Any] | None
    reasoning: str


class LlmError(RuntimeError):
    pass


def build_prompt(request: str, context: str | None, hits: list[Hit]) -> str:
    lines = [f"Request: {request}"]
    if context:
        lines.append(f"Context: {context}")
    lines.append("Candidates:")
    for hit in hits:
        schema = json.dumps(hit.doc.input_schema.get("properties", {}), ensure_ascii=False)[:600]
        lines.append(f"- {hit.doc.key}: {hit.doc.description[:300]} | parameters: {schema}")
    return "\n".join(lines)


def parse_answer(text: str, hits: list[Hit]) -> Advice:
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if match is None:
        raise LlmError("the model's answer holds no JSON object")
    try:
        data = json.loads(match.group(0))
    except json.JSONDecodeError as exc:
        raise LlmError(f"the model's answer is not valid JSON: {exc.msg}") from exc
    name = str(data.get("tool", "")).strip()
    reason = str(data.get("reason", "")).strip() or "chosen by the language model"
    if name.lower() in ("", "none", "null"):
        return Advice(None, None, f"language model: no candidate fits ({reason})")
    by_key = {h.doc.key: h for h in hits} | {h.doc.name: h for h in hits}
    hit = by_key.get(name)
    if hit is None:
        raise LlmError(f"the model named {name!r}, which is not a candidate")
    arguments = data.get("arguments")
    return Advice(hit, arguments if isinstance(arguments, dict) else None, f"language model: {reason}")


class LlmAdvisor:
    def __init__(self, config: SmartDiscoveryConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client

    async def advise(
        self, request: str, context: str | None, hits: list[Hit], ctx: CallContext
    ) -> Advice | None:
        if not hits or self.config.llm_mode == "none":
            return None
        prompt = build_prompt(request, context, hits)
        try:
            if self.config.llm_mode == "sampling":
                text = await self._sample(prompt, ctx)
                if text is None:
                    return None
            else:
                text = await self._http(prompt)
            return parse_answer(text, hits)
        except (LlmError, httpx.HTTPError) as exc:
            log.warning("LLM re-ranking failed, using the offline ranking: %s", exc)
            return None

    async def _sample(self, prompt: str, ctx: CallContext) -> str | None:
        session = ctx.session
        if (
            session is None
            or not getattr(session, "can_send_request", False)
            or not session.supports("sampling")
        ):
            return None
        params = {
            "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
            "systemPrompt": SYSTEM_PROMPT,
            "maxTokens": 400,
            "temperature": 0,
            "includeContext": "none",
        }
        try:
            reply = await session.request("sampling/createMessage", params, timeout=self.config.llm_timeout)
        except Exception as exc:
            raise LlmError(f"sampling request failed: {exc}") from exc
        content = reply.get("content") if isinstance(reply, dict) else None
        blocks = content if isinstance(content, list) else [content]
        texts = [b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"]
        if not texts:
            raise LlmError("the client's model returned no text")
        return "\n".join(texts)

    async def _http(self, prompt: str) -> str:
        """One completion from the configured OpenAI-, Anthropic- or Ollama-compatible provider."""
        cfg = self.config
        if not cfg.llm_base_url or not cfg.llm_model:
            raise LlmError("smart_discovery.llm_base_url and llm_model are required for llm_mode http")
        settings = {
            "type": cfg.llm_provider,
            "model": cfg.llm_model,
            "base_url": cfg.llm_base_url,
            "api_key_env": cfg.llm_api_key_env,
            "timeout": cfg.llm_timeout,
        }
        try:
            provider = make_provider(settings, client=self._client)
            completion = await provider.complete(
                [{"role": "user", "content": prompt}], system=SYSTEM_PROMPT, max_tokens=400, temperature=0
            )
        except LLMError as exc:
            raise LlmError(str(exc)) from exc
        return completion.text
