"""OAuth 2.1 resource server per the MCP authorization spec.

- RFC 9728 Protected Resource Metadata (served at /.well-known/oauth-protected-resource).
- `WWW-Authenticate: Bearer resource_metadata="…", scope="…"` challenges, `error="invalid_token"`
  for bad tokens and `error="insufficient_scope"` (HTTP 403) for step-up.
- JWT access tokens verified against the configured issuer's JWKS; the audience must name
  this resource (RFC 8707) or a configured audience.
The client's token is used only here: it is never forwarded to an upstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt

from magictunnel.auth.jwks import JwksCache, JwksError
from magictunnel.auth.settings import ResourceServerSettings
from magictunnel.pipeline.context import Identity
from magictunnel.server.auth_gate import AuthChallenge

__all__ = ["PRM_PATH", "AuthChallenge", "ResourceServer"]

PRM_PATH = "/.well-known/oauth-protected-resource"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def base_url(headers: Mapping[str, str], default_host: str) -> str:
    lower = {k.lower(): v for k, v in headers.items()}
    proto = lower.get("x-forwarded-proto", "http").split(",")[0].strip() or "http"
    host = lower.get("x-forwarded-host") or lower.get("host") or default_host
    return f"{proto}://{host.split(',')[0].strip()}"


class ResourceServer:
    def __init__(
        self,
        settings: ResourceServerSettings,
        default_host: str = "127.0.0.1:3001",
        mcp_path: str = "/mcp",
        trusted_hosts: list[str] | None = None,
    ) -> None:
        self.trusted_hosts = {h.rsplit(":", 1)[0].lower() for h in (trusted_hosts or [])}
        self.trusted_hosts.add(default_host.rsplit(":", 1)[0].lower())
        self.settings = settings
        self.default_host = default_host
        self.mcp_path = mcp_path
        self.jwks = (
            JwksCache(settings.issuer, settings.jwks_uri, settings.jwks_cache_seconds)
            if settings.issuer or settings.jwks_uri
            else None
        )

    @property
    def enabled(self) -> bool:
        return self.jwks is not None

    def resource_url(self, headers: Mapping[str, str]) -> str:
        return self.settings.resource or base_url(headers, self.default_host) + self.mcp_path

    def accepted_audiences(self, headers: Mapping[str, str]) -> list[str]:
        """Audiences a token must name (RFC 8707). Configured values win; without them the
        resource URL is built from the Host header, and only for a host this server answers to
        (never from X-Forwarded-* headers a client can set: behind a proxy, set `resource`)."""
        configured = [a for a in (self.settings.resource, *self.settings.audiences) if a]
        if configured:
            return configured
        lower = {k.lower(): v for k, v in headers.items()}
        host = lower.get("host") or self.default_host
        hostname = host.rsplit(":", 1)[0].strip("[]").lower() if not host.endswith("]") else host.strip("[]")
        if hostname not in self.trusted_hosts and not _loopback(hostname):
            return []
        return [f"http://{host}{self.mcp_path}", f"https://{host}{self.mcp_path}"]

    def metadata_url(self, headers: Mapping[str, str]) -> str:
        return base_url(headers, self.default_host) + PRM_PATH + self.mcp_path

    def metadata(self, headers: Mapping[str, str]) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "resource": self.resource_url(headers),
            "bearer_methods_supported": ["header"],
            "resource_name": "MagicTunnel",
        }
        if self.settings.issuer:
            meta["authorization_servers"] = [self.settings.issuer]
        if self.settings.scopes_supported:
            meta["scopes_supported"] = list(self.settings.scopes_supported)
        return meta

    def challenge(
        self,
        headers: Mapping[str, str],
        status: int = 401,
        error: str | None = None,
        description: str | None = None,
        scope: list[str] | None = None,
    ) -> AuthChallenge:
        parts = [f"resource_metadata={_quote(self.metadata_url(headers))}"]
        scopes = (
            scope if scope is not None else (self.settings.required_scopes or self.settings.scopes_supported)
        )
        if scopes:
            parts.append(f"scope={_quote(' '.join(scopes))}")
        if error:
            parts.append(f"error={_quote(error)}")
        if description:
            parts.append(f"error_description={_quote(description)}")
        message = description or "authentication required: send Authorization: Bearer <token or API key>"
        return AuthChallenge(status, message, {"WWW-Authenticate": "Bearer " + ", ".join(parts)})

    async def validate(
        self, token: str, headers: Mapping[str, str], required_scopes: list[str] | None = None
    ) -> Identity:
        if self.jwks is None:
            raise self.challenge(headers, error="invalid_token", description="unknown bearer token")
        resource = self.resource_url(headers)
        audiences = self.accepted_audiences(headers)
        if not audiences:
            raise self.challenge(
                headers,
                error="invalid_token",
                description="this host is not a known name of the server; configure auth.oauth.resource",
            )
        try:
            claims = await self.jwks.decode(
                token,
                audience=audiences,
                algorithms=self.settings.algorithms,
                leeway=self.settings.leeway_seconds,
                require=("exp", "aud"),
            )
        except jwt.InvalidAudienceError:
            raise self.challenge(
                headers, error="invalid_token", description=f"token audience does not include {resource}"
            ) from None
        except jwt.ExpiredSignatureError:
            raise self.challenge(headers, error="invalid_token", description="token expired") from None
        except (jwt.PyJWTError, JwksError) as exc:
            raise self.challenge(
                headers, error="invalid_token", description=f"token rejected: {exc}"
            ) from None
        scopes = _scopes(claims)
        needed = list(required_scopes if required_scopes is not None else self.settings.required_scopes)
        missing = [s for s in needed if s not in scopes]
        if missing:
            raise self.challenge(
                headers,
                status=403,
                error="insufficient_scope",
                description=f"token lacks scope(s): {' '.join(missing)}",
                scope=sorted(set(scopes) | set(needed)),
            )
        raw_roles = claims.get(self.settings.roles_claim) or []
        roles = (
            (raw_roles,)
            if isinstance(raw_roles, str)
            else tuple(str(r) for r in raw_roles)
            if isinstance(raw_roles, list)
            else ()
        )
        client_id = str(claims.get("client_id") or claims.get("azp") or claims.get("sub") or "unknown")
        return Identity(
            client_id=client_id,
            roles=roles,
            authenticated=True,
            auth_method="oauth",
            scopes=tuple(scopes),
            attributes={"subject": claims.get("sub"), "issuer": claims.get("iss")},
        )


def _scopes(claims: dict[str, Any]) -> list[str]:
    raw = claims.get("scope", claims.get("scp", []))
    if isinstance(raw, str):
        return raw.split()
    return [str(s) for s in raw] if isinstance(raw, list) else []


def _loopback(hostname: str) -> bool:
    import ipaddress

    if hostname in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False
