"""The MCP server: the SDK's lowlevel Server wired to the gateway's handlers.

One Server instance serves every transport and both protocol eras (the SDK's dual-era
loop picks the handshake era or the 2026-07-28 per-request envelope from the client's
first message).
"""

from __future__ import annotations

import warnings
from typing import Any

from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.server.models import InitializationOptions

from magictunnel import __version__
from magictunnel.core.gateway import Gateway
from magictunnel.server.handlers import Handlers
from magictunnel.server.sessions import SessionRegistry

INSTRUCTIONS = (
    "MagicTunnel is a gateway in front of many tools. Call tools by name, or use smart_tool_discovery "
    "(when listed) to describe what you want in plain language and let the gateway pick and run the tool."
)


class GatewayServer(Server[Any]):
    """Advertises list_changed for tools, prompts and resources on every transport."""

    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(True, True, True),
            experimental_capabilities,
            extensions,
        )

    def get_capabilities(
        self, notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        return super().get_capabilities(
            notification_options or NotificationOptions(True, True, True), *args, **kwargs
        )


def build_server(gateway: Gateway, sessions: SessionRegistry) -> GatewayServer:
    handlers = Handlers(gateway, sessions)
    gateway.extensions["sessions"] = sessions  # features reach connected clients (resource updates)
    with warnings.catch_warnings():
        # logging/setLevel is deprecated in 2026-07-28 but still served to handshake-era clients
        warnings.simplefilter("ignore")
        server = _new_server(handlers, sessions)
    server.magictunnel_handlers = handlers  # type: ignore[attr-defined]
    return server


def _new_server(handlers: Handlers, sessions: SessionRegistry) -> GatewayServer:
    return GatewayServer(
        "magictunnel",
        version=__version__,
        title="MagicTunnel",
        instructions=INSTRUCTIONS,
        on_list_tools=handlers.list_tools,
        on_call_tool=handlers.call_tool,
        get_tool_input_schema=handlers.advertised_input_schema,
        on_list_prompts=handlers.list_prompts,
        on_get_prompt=handlers.get_prompt,
        on_list_resources=handlers.list_resources,
        on_list_resource_templates=handlers.list_resource_templates,
        on_read_resource=handlers.read_resource,
        on_subscribe_resource=handlers.subscribe,
        on_unsubscribe_resource=handlers.unsubscribe,
        on_subscriptions_listen=sessions.listen_handler,
        on_completion=handlers.complete,
        on_set_logging_level=handlers.set_level,
    )
