"""LLM providers: OpenAI-, Anthropic- and Ollama-compatible chat completion over HTTP."""

from magictunnel.llm.providers import (
    AnthropicProvider,
    Completion,
    LLMError,
    OllamaProvider,
    OpenAIProvider,
    check_provider_config,
    make_provider,
)

__all__ = [
    "AnthropicProvider",
    "Completion",
    "LLMError",
    "OllamaProvider",
    "OpenAIProvider",
    "check_provider_config",
    "make_provider",
]
