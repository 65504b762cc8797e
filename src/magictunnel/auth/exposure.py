"""The start-up rule: advanced mode never listens unauthenticated beyond loopback."""

from __future__ import annotations

import ipaddress
import logging

from magictunnel.auth.settings import AuthSettings
from magictunnel.config.errors import ConfigError
from magictunnel.config.models import MagicTunnelConfig, RuntimeMode

log = logging.getLogger("magictunnel.auth")


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(config: MagicTunnelConfig, settings: AuthSettings) -> None:
    host = config.server.host
    required = settings.client_auth_required(config.runtime_mode)
    if config.runtime_mode is RuntimeMode.ADVANCED and not required and not is_loopback(host):
        raise ConfigError(
            [
                f"advanced mode on {host} without MCP client authentication is refused: "
                "set auth.enabled: true (API keys or an OAuth issuer in auth.oauth), "
                "or bind server.host to 127.0.0.1"
            ]
        )
    if not required and not is_loopback(host):
        log.warning(
            "MCP endpoints on %s accept unauthenticated clients (proxy mode); set auth.enabled: true "
            "to require API keys or OAuth tokens",
            host,
        )
    if required and not settings.api_keys_enabled and not (settings.oauth.issuer or settings.oauth.jwks_uri):
        raise ConfigError(
            [
                "MCP client authentication is required but no method is available: "
                "enable auth.api_keys_enabled or configure auth.oauth.issuer"
            ]
        )
