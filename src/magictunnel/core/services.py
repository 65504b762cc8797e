"""The service container: which services run in which runtime mode, and how each is doing.

`proxy` starts the core services only; `advanced` adds security, auth and audit. A service
that fails to start is reported by name; when it is optional the gateway keeps running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from magictunnel.config.models import RuntimeMode

log = logging.getLogger("magictunnel.services")


class ServiceState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    FAILED = "failed"
    STOPPED = "stopped"
    SKIPPED = "skipped"


@dataclass
class ServiceSpec:
    name: str
    start: Callable[[], Awaitable[Any]]
    stop: Callable[[], Awaitable[None]] | None = None
    modes: frozenset[RuntimeMode] = frozenset({RuntimeMode.PROXY, RuntimeMode.ADVANCED})
    optional: bool = False
    description: str = ""


@dataclass
class ServiceStatus:
    name: str
    state: ServiceState = ServiceState.PENDING
    optional: bool = False
    error: str | None = None
    started_at: float | None = None
    description: str = ""
    instance: Any = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state.value,
            "optional": self.optional,
            "error": self.error,
            "started_at": self.started_at,
            "description": self.description,
        }


class ServiceStartError(RuntimeError):
    pass


class ServiceContainer:
    def __init__(self, mode: RuntimeMode) -> None:
        self.mode = mode
        self._specs: list[ServiceSpec] = []
        self.status: dict[str, ServiceStatus] = {}

    def add(self, spec: ServiceSpec) -> None:
        self._specs.append(spec)
        self.status[spec.name] = ServiceStatus(
            spec.name, optional=spec.optional, description=spec.description
        )

    def get(self, name: str) -> Any:
        status = self.status.get(name)
        return status.instance if status and status.state is ServiceState.RUNNING else None

    async def start_all(self) -> None:
        for spec in self._specs:
            status = self.status[spec.name]
            if self.mode not in spec.modes:
                status.state = ServiceState.SKIPPED
                continue
            try:
                status.instance = await spec.start()
                status.state = ServiceState.RUNNING
                status.started_at = time.time()
            except Exception as exc:
                status.state = ServiceState.FAILED
                status.error = f"{type(exc).__name__}: {exc}"
                if not spec.optional:
                    raise ServiceStartError(f"service {spec.name} failed to start: {status.error}") from exc
                log.error("optional service %s failed to start: %s", spec.name, status.error)

    async def stop_all(self) -> None:
        for spec in reversed(self._specs):
            status = self.status[spec.name]
            if status.state is not ServiceState.RUNNING:
                continue
            try:
                if spec.stop is not None:
                    await spec.stop()
                status.state = ServiceState.STOPPED
            except Exception as exc:
                log.error("service %s failed to stop cleanly: %s", spec.name, exc)
                status.state = ServiceState.FAILED
                status.error = f"stop: {exc}"

    def report(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.status.values()]
