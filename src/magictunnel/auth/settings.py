"""Typed view of the `auth:` configuration section.

`config.auth` is an open section; this module validates the keys the auth feature reads and
turns mistakes into `ConfigError`s naming the key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from magictunnel.config.errors import ConfigError, format_validation_error
from magictunnel.config.models import MagicTunnelConfig, RuntimeMode


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginLimits(_M):
    max_attempts: int = Field(default=5, ge=1, description="failures before the account locks")
    lockout_seconds: float = Field(default=900.0, gt=0)
    ip_window_seconds: float = Field(default=60.0, gt=0)
    ip_max_attempts: int = Field(default=20, ge=1, description="login attempts per IP per window")


class ResourceServerSettings(_M):
    """OAuth 2.1 resource server: accept JWT access tokens from a configured issuer."""

    issuer: str | None = None
    jwks_uri: str | None = None
    resource: str | None = Field(default=None, description="canonical URI of this MCP server (RFC 8707)")
    audiences: list[str] = Field(default_factory=list)
    scopes_supported: list[str] = Field(default_factory=lambda: ["mcp:tools"])
    required_scopes: list[str] = Field(default_factory=list)
    roles_claim: str = "roles"
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "PS256", "EdDSA"])
    leeway_seconds: int = Field(default=30, ge=0)
    jwks_cache_seconds: float = Field(default=300.0, gt=0)


class OidcProviderSettings(_M):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    issuer: str
    client_id: str
    client_secret: str | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    username_claim: str = "preferred_username"
    roles_claim: str = "groups"
    role_mapping: dict[str, str] = Field(default_factory=dict, description="claim value -> admin role")
    default_role: str | None = None
    redirect_uri: str | None = None


class IdentityProviderSettings(_M):
    """The enterprise identity provider of an `identity_assertion` upstream (SEP-990): where the
    gateway exchanges the user's ID token for an identity assertion grant (ID-JAG, RFC 8693)."""

    token_endpoint: str = Field(min_length=1, description="the IdP's token endpoint (token exchange)")
    client_id: str = Field(min_length=1, description="the gateway's client id at the IdP")
    client_secret: str | None = None
    # the ID token to exchange: a file (re-read on every exchange, so a sign-in helper can renew
    # it) or a vault secret; exactly one
    id_token_file: str | None = None
    id_token_secret: str | None = None

    @model_validator(mode="after")
    def _one_id_token_source(self) -> IdentityProviderSettings:
        if bool(self.id_token_file) == bool(self.id_token_secret):
            raise ValueError("set exactly one of id_token_file and id_token_secret")
        return self


class UpstreamServerOAuth(_M):
    # identity_assertion: SEP-990 enterprise-managed authorization (token exchange at the
    # identity provider, then the RFC 7523 jwt-bearer grant at the authorization server)
    grant_type: Literal["authorization_code", "client_credentials", "identity_assertion"] = (
        "authorization_code"
    )
    client_id: str | None = None
    client_secret: str | None = None
    token_endpoint_auth_method: Literal["none", "client_secret_post", "client_secret_basic"] | None = None
    scopes: list[str] = Field(default_factory=list)
    authorization_server: str | None = None
    # client_credentials with private_key_jwt (RFC 7523): a PEM file, or a vault secret holding one
    private_key_file: str | None = None
    private_key_secret: str | None = None
    signing_algorithm: str = "RS256"
    identity_provider: IdentityProviderSettings | None = None

    @model_validator(mode="after")
    def _identity_assertion_complete(self) -> UpstreamServerOAuth:
        if self.grant_type != "identity_assertion":
            if self.identity_provider is not None:
                raise ValueError("identity_provider is only read with grant_type: identity_assertion")
            return self
        missing = [
            key
            for key in ("client_id", "client_secret", "authorization_server", "identity_provider")
            if not getattr(self, key)
        ]
        if missing:
            raise ValueError(f"grant_type identity_assertion needs {', '.join(missing)}")
        if self.token_endpoint_auth_method == "none":
            raise ValueError(
                "grant_type identity_assertion needs a confidential client (not auth method none)"
            )
        return self


class UpstreamOAuthSettings(_M):
    client_name: str = "MagicTunnel"
    client_metadata_url: str | None = Field(default=None, description="CIMD URL used as client_id")
    redirect_uri: str | None = None
    refresh_interval_seconds: float = Field(default=60.0, gt=0)
    refresh_margin_seconds: float = Field(default=300.0, ge=0)
    servers: dict[str, UpstreamServerOAuth] = Field(default_factory=dict)


class VaultSettings(_M):
    key_file: str | None = None
    path: str | None = None


class AuthSettings(_M):
    model_config = ConfigDict(extra="ignore")

    enabled: bool = False
    session_ttl_seconds: float = Field(default=8 * 3600.0, gt=0)
    admin_jwt_ttl_seconds: float = Field(default=3600.0, gt=0)
    cookie_secure: bool | None = Field(default=None, description="None: Secure only behind https")
    login: LoginLimits = Field(default_factory=LoginLimits)
    api_keys_enabled: bool = True
    notification_poll_seconds: float = Field(default=5.0, gt=0)
    oauth: ResourceServerSettings = Field(default_factory=ResourceServerSettings)
    oidc: list[OidcProviderSettings] = Field(default_factory=list)
    upstream_oauth: UpstreamOAuthSettings = Field(default_factory=UpstreamOAuthSettings)
    vault: VaultSettings = Field(default_factory=VaultSettings)
    roles: dict[str, list[str]] = Field(default_factory=dict, description="extra operation globs per role")
    # whether `enabled` was written in the file (an explicit `false` opts advanced mode out)
    enabled_explicit: bool = False

    @classmethod
    def from_config(cls, config: MagicTunnelConfig, source: str = "config") -> AuthSettings:
        raw: dict[str, Any] = config.auth.model_dump()
        explicit = "enabled" in config.auth.model_fields_set
        try:
            settings = cls.model_validate({**raw, "enabled_explicit": explicit})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(source, exc, prefix="auth.")) from None
        return settings

    def client_auth_required(self, mode: RuntimeMode) -> bool:
        if self.enabled:
            return True
        return mode is RuntimeMode.ADVANCED and not self.enabled_explicit


def data_dir(config: MagicTunnelConfig, base_dir: Path | None = None) -> Path:
    path = Path(config.storage.data_dir).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path
