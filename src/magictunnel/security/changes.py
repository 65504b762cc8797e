"""Change stamps: services bump a counter on every write; running gateways poll and reload.

This is how a change made by the CLI or another instance (same database) reaches a running
gateway within `security.poll_interval` seconds, lockdown included.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from magictunnel.core.periodic import Periodic
from magictunnel.storage import Storage
from magictunnel.storage.repositories import SettingsRepository

log = logging.getLogger("magictunnel.security.changes")

NAMESPACE = "security.revisions"


class ChangeStamps:
    def __init__(self, storage: Storage) -> None:
        self.repo = SettingsRepository(storage, NAMESPACE)
        self.seen: dict[str, int] = {}
        self._reloaders: dict[str, Callable[[], Awaitable[None]]] = {}
        self._poller: Periodic | None = None
        self.errors = 0
        self.last_error: str | None = None

    def watch(self, name: str, reload: Callable[[], Awaitable[None]]) -> None:
        self._reloaders[name] = reload

    async def bump(self, name: str) -> None:
        self.seen[name] = await self.repo.bump(name)

    async def snapshot(self) -> None:
        for name, value in (await self.repo.all()).items():
            self.seen[name] = int(value or 0)

    async def poll_once(self) -> list[str]:
        changed = []
        for name, value in (await self.repo.all()).items():
            value = int(value or 0)
            if value != self.seen.get(name) and name in self._reloaders:
                self.seen[name] = value
                await self._reloaders[name]()
                changed.append(name)
        return changed

    def start(self, interval: float) -> None:
        async def round_() -> None:
            changed = await self.poll_once()
            if changed:
                log.info("reloaded after external change: %s", ", ".join(changed))

        def failed(exc: Exception) -> None:  # keep polling: the database may come back
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("security change poll failed: %s", self.last_error)

        self._poller = Periodic("security-change-poll", interval, round_, on_error=failed)
        self._poller.start()

    async def stop(self) -> None:
        if self._poller is not None:
            await self._poller.stop()
            self._poller = None
