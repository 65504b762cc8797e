"""Namespaced key/value settings (switches, defaults, change counters, caches)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from magictunnel.storage.base import now
from magictunnel.storage.engine import Storage
from magictunnel.storage.models.common import Setting


class SettingsRepository:
    def __init__(self, storage: Storage, namespace: str) -> None:
        self.storage = storage
        self.namespace = namespace

    async def get(self, key: str, default: Any = None) -> Any:
        async with self.storage.session() as s:
            row = await s.get(Setting, (self.namespace, key))
            return row.value if row is not None else default

    async def set(self, key: str, value: Any) -> None:
        async with self.storage.session() as s:
            row = await s.get(Setting, (self.namespace, key))
            if row is None:
                s.add(Setting(namespace=self.namespace, key=key, value=value, updated_at=now()))
            else:
                row.value = value
                row.updated_at = now()

    async def all(self) -> dict[str, Any]:
        async with self.storage.session() as s:
            rows = await s.scalars(select(Setting).where(Setting.namespace == self.namespace))
            return {r.key: r.value for r in rows}

    async def delete(self, key: str) -> bool:
        async with self.storage.session() as s:
            row = await s.get(Setting, (self.namespace, key))
            if row is None:
                return False
            await s.delete(row)
            return True

    async def bump(self, key: str) -> int:
        """Increment a counter (used as a change stamp other processes can watch)."""
        async with self.storage.session() as s:
            row = await s.get(Setting, (self.namespace, key), with_for_update=not self.storage.is_sqlite)
            value = (int(row.value) if row is not None and row.value is not None else 0) + 1
            if row is None:
                s.add(Setting(namespace=self.namespace, key=key, value=value, updated_at=now()))
            else:
                row.value = value
                row.updated_at = now()
            return value
