"""`llm` backend: a completion from an OpenAI-, Anthropic- or Ollama-compatible provider.

routing.config:

- `provider` (`openai` | `anthropic` | `ollama`, required), `model` (required), `base_url`
  (default per provider), `headers`, and the API key by reference: `api_key_credential`
  (a vault credential name) or `api_key_env` (an environment variable). Local Ollama needs none.
- `prompt` (template, default `{prompt}`): the user message, rendered against the arguments.
  Or `messages`: a list of `{role, content}` with templated content.
- `system` (template, optional), `max_tokens` (default 1024), `temperature` (optional),
  `timeout` (seconds, default 60).
- `response` (`text` default, or `json`: the completion must be JSON and becomes
  structuredContent).

The result's text is the completion; structuredContent carries
`{text, model, finish_reason, usage: {input_tokens, output_tokens}}` (or the parsed JSON).
"""

from __future__ import annotations

import json
from typing import Any

from mcp_types import CallToolResult

from magictunnel.backends.base import BackendError, error_result, json_result, text_result
from magictunnel.backends.http_client import SharedHttpClient, resolve_secret
from magictunnel.backends.templating import render
from magictunnel.catalog.models import ToolDef
from magictunnel.llm.providers import LLMError, check_provider_config, make_provider
from magictunnel.pipeline.context import CallContext


class LLMBackend:
    type = "llm"

    def __init__(self, client: SharedHttpClient | None = None, vault: Any = None) -> None:
        self.client = client or SharedHttpClient()
        self.vault = vault

    def check_config(self, config: dict[str, Any]) -> list[str]:
        problems = check_provider_config(config)
        if "messages" in config:
            msgs = config["messages"]
            if not isinstance(msgs, list) or not all(isinstance(m, dict) and "content" in m for m in msgs):
                problems.append("messages: expected a list of {role, content}")
        elif "prompt" in config and not isinstance(config["prompt"], str):
            problems.append("prompt: expected a string template")
        tokens = config.get("max_tokens", 1024)
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 1:
            problems.append("max_tokens: expected a positive integer")
        if config.get("response", "text") not in ("text", "json"):
            problems.append("response: expected text or json")
        if "api_key" in config:
            problems.append(
                "api_key: a literal key does not belong in a capability file; "
                "use api_key_credential (vault) or api_key_env"
            )
        return problems

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        config = tool.routing.config
        api_key = None
        if config.get("api_key_credential"):
            api_key = await resolve_secret(self.vault, str(config["api_key_credential"]))
        settings = {k: v for k, v in config.items() if k != "api_key"}
        try:
            provider = make_provider(settings, api_key=api_key, client=self.client.get())
        except LLMError as exc:
            raise BackendError(str(exc)) from None
        if "messages" in config:
            messages = [
                {"role": str(m.get("role", "user")), "content": render(str(m["content"]), arguments)}
                for m in config["messages"]
            ]
        else:
            prompt = render(str(config.get("prompt", "{prompt}")), arguments)
            if not prompt.strip():
                raise BackendError("prompt: empty (pass the `prompt` argument)")
            messages = [{"role": "user", "content": prompt}]
        system = render(str(config["system"]), arguments) if config.get("system") else None
        temperature = config.get("temperature")
        try:
            completion = await provider.complete(
                messages,
                system=system,
                max_tokens=int(config.get("max_tokens", 1024)),
                temperature=float(temperature) if temperature is not None else None,
            )
        except LLMError as exc:
            return error_result(str(exc))
        if config.get("response") == "json":
            try:
                value = json.loads(_strip_fences(completion.text))
            except ValueError:
                return error_result(
                    f"the model did not return JSON: {completion.text[:300]}", **completion.as_dict()
                )
            return json_result(value)
        return text_result(completion.text, structured=completion.as_dict())


def _strip_fences(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
        stripped = stripped.rsplit("```", 1)[0]
    return stripped.strip()
