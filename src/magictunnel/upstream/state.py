"""What one upstream connection is and says: its state, its listing, and the owner's callbacks."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from magictunnel.upstream.connection import UpstreamConnection


class State(StrEnum):
    PENDING = "pending"
    STARTING = "starting"
    READY = "ready"
    RESTARTING = "restarting"
    FAILED = "failed"
    STOPPED = "stopped"
    DISABLED = "disabled"


class Capabilities:
    """What one server offered at its last listing (SDK wire dicts, camelCase)."""

    def __init__(self) -> None:
        self.tools: list[dict[str, Any]] = []
        self.prompts: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        self.resource_templates: list[dict[str, Any]] = []
        self.server_capabilities: dict[str, Any] = {}
        self.server_info: dict[str, Any] | None = None
        self.instructions: str | None = None
        self.listed_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tools": self.tools,
            "prompts": self.prompts,
            "resources": self.resources,
            "resource_templates": self.resource_templates,
            "server_capabilities": self.server_capabilities,
            "server_info": self.server_info,
            "instructions": self.instructions,
        }


class Listener:
    """What the connection tells its owner (the manager)."""

    async def on_ready(self, conn: UpstreamConnection) -> None: ...
    async def on_lists_changed(self, conn: UpstreamConnection) -> None: ...
    async def on_resource_updated(self, conn: UpstreamConnection, uri: str) -> None: ...
    async def on_down(self, conn: UpstreamConnection) -> None: ...
    async def on_client_notification(
        self, conn: UpstreamConnection, handle: Any, method: str, params: dict[str, Any]
    ) -> None: ...
