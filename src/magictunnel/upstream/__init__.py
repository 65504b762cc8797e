"""External MCP servers: connections, lifecycle, catalog sources and forwarding.

`install(gateway)` registers the `external_mcp` backend, the `upstream` service and
publishes the forwarder as `gateway.extensions["upstream"]` (see `forwarding.Forwarder` for
the methods the MCP server handlers call) and the manager as
`gateway.extensions["upstream_manager"]` (REST and CLI management).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from magictunnel.core.services import ServiceSpec

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway


def install(gateway: Gateway) -> None:
    from magictunnel.upstream.backend import ExternalMcpBackend
    from magictunnel.upstream.manager import UpstreamManager

    manager = UpstreamManager(gateway)
    gateway.backends.register(ExternalMcpBackend(manager))
    gateway.extensions["upstream"] = manager.forwarder
    gateway.extensions["upstream_manager"] = manager
    gateway.services.add(
        ServiceSpec(
            "external_mcp", manager.start, manager.stop, optional=True, description="external MCP servers"
        )
    )
