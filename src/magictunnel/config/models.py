"""Configuration models, split by domain.

The layout follows MagicTunnel's own config files: top-level `server`, `deployment`,
`registry`, `logging`, `security`, `auth`, `external_mcp`, `sampling`, `elicitation`,
`smart_discovery`, `visibility` and `tools`. Files that group these under `global:`,
`mcp:` or `discovery:` are accepted too (see `loader.flatten_groups`).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class _OpenSection(BaseModel):
    """A section whose unknown keys are kept (owned by later features or plugins)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)


class RuntimeMode(StrEnum):
    PROXY = "proxy"
    ADVANCED = "advanced"


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=3001, ge=1, le=65535)
    websocket: bool = True
    timeout: float = Field(default=30.0, gt=0, description="per-call timeout in seconds")
    max_request_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    allowed_hosts: list[str] = Field(default_factory=list, description="extra Host values accepted")
    allowed_origins: list[str] = Field(default_factory=list, description="extra Origin values accepted")
    session_idle_timeout: float = Field(default=1800.0, gt=0)
    list_page_size: int = Field(default=500, ge=1, le=10000)


class DeploymentConfig(_Section):
    runtime_mode: RuntimeMode = RuntimeMode.PROXY


class ConflictStrategy(StrEnum):
    REJECT = "reject"
    FIRST_WINS = "first_wins"
    PREFIX = "prefix"


class RegistryConfig(_OpenSection):
    type: str = "file"
    paths: list[str] = Field(default_factory=lambda: ["./capabilities"])
    hot_reload: bool = True
    conflict_strategy: ConflictStrategy = ConflictStrategy.PREFIX


class LoggingConfig(_OpenSection):
    level: Literal["trace", "debug", "info", "warning", "warn", "error", "critical"] = "info"
    format: Literal["text", "json"] = "text"


class AllowlistSettings(_Section):
    default_action: Literal["allow", "deny"] = "allow"


class RbacSettings(_Section):
    # what a client with no roles (unknown to RBAC, no roles from its credential) may do
    default_action: Literal["allow", "deny"] = "allow"


class AuditSettings(_Section):
    enabled: bool = True
    retention_days: float | None = Field(default=90, gt=0)
    max_entries: int | None = Field(default=None, ge=1)
    flush_interval: float = Field(default=0.25, gt=0, le=60)
    fsync: bool = Field(default=False, description="fsync the journal on every entry (power-loss safe)")
    max_value_chars: int = Field(default=4000, ge=100)


class SanitizationSettings(_Section):
    enabled: bool = True
    # used when no sanitization policy matches a tool and direction
    input_action: Literal["redact", "block", "allow"] = "allow"
    output_action: Literal["redact", "block", "allow"] = "redact"
    categories: list[str] = Field(default_factory=lambda: ["secret"])


class PolicySettings(_Section):
    default_effect: Literal["allow", "deny"] = "allow"
    approval_ttl_seconds: float = Field(default=3600, gt=0)


class SecurityConfig(_OpenSection):
    enabled: bool = True
    admin_token: str | None = None
    # how often a running gateway picks up changes made by another process (CLI, second instance)
    poll_interval: float = Field(default=0.5, gt=0, le=60)
    allowlist: AllowlistSettings = Field(default_factory=AllowlistSettings)
    rbac: RbacSettings = Field(default_factory=RbacSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    sanitization: SanitizationSettings = Field(default_factory=SanitizationSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)


class AuthConfig(_OpenSection):
    enabled: bool = False


class ExternalMcpConfig(_OpenSection):
    enabled: bool = True
    config_file: str | None = "./external-mcp-servers.yaml"
    servers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    naming: Literal["prefix", "local_first", "reject", "passthrough"] = "prefix"


class SamplingConfig(_OpenSection):
    enabled: bool = True


class ElicitationConfig(_OpenSection):
    enabled: bool = True


class SmartDiscoveryConfig(_OpenSection):
    enabled: bool = True
    default_confidence_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    # embedding cache directory (default <storage.data_dir>/discovery), relative to the config file
    cache_dir: str | None = None
    results_cache_ttl: float = Field(default=300.0, ge=0.0)
    # re-rank with a second dense model (all-MiniLM-L6-v2, ~150 MB of memory in the gateway)
    second_stage: bool = True
    # encode requests for it in a helper process on ONNX Runtime (~210 MB), so every request gets
    # stage two; false: only requests stage one is unsure about, encoded in the gateway with numpy
    second_stage_helper: bool = True
    # a third stage for requests stage two is unsure about: all-mpnet-base-v2 in its own helper
    # process (ONNX Runtime; ~280-440 MB of memory, ~8 ms per request it ranks, 440 MB of model files
    # extracted once into ~/.cache/magictunnel/models); needs the second stage
    third_stage: bool = True
    max_candidates: int = Field(default=5, ge=1, le=50)
    # optional LLM re-ranking / parameter mapping: "none", "sampling" (the client's model) or "http"
    llm_mode: Literal["none", "sampling", "http"] = "none"
    llm_provider: Literal["openai", "anthropic", "ollama"] = "openai"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key_env: str | None = None
    llm_timeout: float = Field(default=20.0, gt=0.0)


class VisibilityConfig(_OpenSection):
    expose: Literal["all", "discovery_only"] = "all"
    always_visible: list[str] = Field(default_factory=list)


class StorageConfig(_OpenSection):
    database_url: str | None = None
    data_dir: str = "./data"


class ToolOverride(_OpenSection):
    enabled: bool | None = None
    hidden: bool | None = None
    timeout: float | None = Field(default=None, gt=0)
    description: str | None = None


class MagicTunnelConfig(_OpenSection):
    server: ServerConfig = Field(default_factory=ServerConfig)
    deployment: DeploymentConfig = Field(default_factory=DeploymentConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    external_mcp: ExternalMcpConfig = Field(default_factory=ExternalMcpConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    elicitation: ElicitationConfig = Field(default_factory=ElicitationConfig)
    smart_discovery: SmartDiscoveryConfig = Field(default_factory=SmartDiscoveryConfig)
    visibility: VisibilityConfig = Field(default_factory=VisibilityConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    tools: dict[str, ToolOverride] = Field(default_factory=dict)

    @property
    def runtime_mode(self) -> RuntimeMode:
        return self.deployment.runtime_mode

    def tool_timeout(self, tool_name: str, server_timeout: float | None = None) -> float:
        """Effective timeout with precedence tool > server > global."""
        override = self.tools.get(tool_name)
        if override is not None and override.timeout is not None:
            return override.timeout
        if server_timeout is not None:
            return server_timeout
        return self.server.timeout
