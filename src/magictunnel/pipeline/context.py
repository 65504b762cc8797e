"""What travels with a tool call through the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from magictunnel.catalog.models import ToolDef


@dataclass
class Identity:
    """Who is calling: an MCP client (API key, token subject) or anonymous local use."""

    client_id: str = "anonymous"
    roles: tuple[str, ...] = ()
    authenticated: bool = False
    auth_method: str = "none"
    scopes: tuple[str, ...] = ()
    # who the client acts for, when a chain of gateways or an agent forwards the call
    original_client: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class CallContext:
    """Per-call state: identity, the session to talk back to, and where the call came from."""

    identity: Identity = field(default_factory=Identity)
    # "mcp", "rest", "discovery"
    source: str = "mcp"
    transport: str = "internal"
    session: Any = None  # magictunnel.server.session.ClientSession when the call came over MCP
    request_id: Any = None
    progress_token: Any = None
    remote_addr: str | None = None
    # set by pipeline stages for later ones and for audit
    notes: dict[str, Any] = field(default_factory=dict)

    def child(self, source: str) -> CallContext:
        """A context for a call made on behalf of this one (smart discovery -> the chosen tool)."""
        return CallContext(
            identity=self.identity,
            source=source,
            transport=self.transport,
            session=self.session,
            request_id=self.request_id,
            progress_token=self.progress_token,
            remote_addr=self.remote_addr,
        )


@dataclass
class ToolCall:
    tool: ToolDef
    arguments: dict[str, Any]
