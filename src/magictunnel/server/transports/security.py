"""DNS-rebinding protection settings shared by the HTTP transports."""

from __future__ import annotations

from mcp.server.transport_security import TransportSecuritySettings

from magictunnel.config.models import ServerConfig

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def transport_security(server: ServerConfig) -> TransportSecuritySettings:
    """Host/Origin validation. Loopback binds accept loopback names on any port; other binds
    accept their own host plus `server.allowed_hosts` / `server.allowed_origins`."""
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
    origins = [
        "http://127.0.0.1:*",
        "http://localhost:*",
        "http://[::1]:*",
        "https://127.0.0.1:*",
        "https://localhost:*",
    ]
    if server.host not in LOOPBACK and server.host not in ("0.0.0.0", "::"):
        hosts += [f"{server.host}:*", server.host]
        origins += [f"http://{server.host}:*", f"https://{server.host}:*"]
    hosts += server.allowed_hosts
    origins += server.allowed_origins
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )
