"""Backends: one file per routing type, registered here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magictunnel.backends.base import Backend, BackendError, BackendRegistry, error_result, text_result
from magictunnel.backends.graphql import GraphQLBackend
from magictunnel.backends.http import HttpBackend
from magictunnel.backends.http_client import SharedHttpClient
from magictunnel.backends.subprocess import SubprocessBackend

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway


def default_backends(gateway: Gateway) -> BackendRegistry:
    registry = BackendRegistry()
    registry.register(SubprocessBackend(str(gateway.base_dir)), "command")
    http_client = SharedHttpClient()  # one connection pool for every HTTP-based backend

    def vault() -> object:
        return getattr(gateway, "extensions", {}).get("vault")

    registry.register(HttpBackend(http_client, vault))
    registry.register(GraphQLBackend(http_client, vault))
    from magictunnel.backends.extra import register_extra_backends

    register_extra_backends(registry, http_client, vault, gateway.base_dir)
    return registry


__all__ = ["Backend", "BackendError", "BackendRegistry", "default_backends", "error_result", "text_result"]
