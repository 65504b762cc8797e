"""Installs smart discovery into the gateway: service, backend, built-in tools, visibility hook."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magictunnel.core.services import ServiceSpec
from magictunnel.discovery.actions import DiscoveryBackend
from magictunnel.discovery.llm import LlmAdvisor
from magictunnel.discovery.service import DiscoveryService, data_dir_for

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway

__all__ = ["data_dir_for", "install"]


def install(gateway: Gateway) -> DiscoveryService | None:
    cfg = gateway.config.smart_discovery
    if not cfg.enabled:
        return None
    service = DiscoveryService(gateway)
    advisor = LlmAdvisor(cfg) if cfg.llm_mode != "none" else None
    gateway.backends.register(DiscoveryBackend(service, advisor))
    gateway.extensions["discovery"] = service
    service.publish_tools()
    gateway.services.add(
        ServiceSpec(
            "smart_discovery",
            service.start,
            service.stop,
            optional=True,
            description="smart tool discovery: hybrid index kept in step with the catalog",
        )
    )
    return service
