"""Backends: one file per routing type, registered here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magictunnel.backends.base import Backend, BackendError, BackendRegistry, error_result, text_result
from magictunnel.backends.subprocess import SubprocessBackend

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway


def default_backends(gateway: Gateway) -> BackendRegistry:
    registry = BackendRegistry()
    registry.register(SubprocessBackend(str(gateway.base_dir)), "command")
    return registry


__all__ = ["Backend", "BackendError", "BackendRegistry", "default_backends", "error_result", "text_result"]
