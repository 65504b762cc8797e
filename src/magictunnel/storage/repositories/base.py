"""A small generic CRUD repository over one ORM model; rows come back as plain dicts."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from magictunnel.storage.base import Base
from magictunnel.storage.engine import Storage

M = TypeVar("M", bound=Base)


class NotFound(LookupError):
    pass


class Duplicate(ValueError):
    pass


def row_to_dict(row: Base) -> dict[str, Any]:
    return {attr.key: getattr(row, attr.key) for attr in inspect(row).mapper.column_attrs}


class CrudRepository(Generic[M]):
    model: type[M]
    order_by: tuple[str, ...] = ()
    label = "item"

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @property
    def _pk(self) -> Any:
        return inspect(self.model).primary_key[0]

    def _columns(self) -> set[str]:
        return {a.key for a in inspect(self.model).column_attrs}

    async def list(self) -> list[dict[str, Any]]:
        stmt = select(self.model)
        if self.order_by:
            stmt = stmt.order_by(*[getattr(self.model, c) for c in self.order_by])
        async with self.storage.session() as s:
            return [row_to_dict(r) for r in (await s.scalars(stmt)).all()]

    async def count(self) -> int:
        async with self.storage.session() as s:
            return int(await s.scalar(select(func.count()).select_from(self.model)) or 0)

    async def get(self, key: Any) -> dict[str, Any] | None:
        async with self.storage.session() as s:
            row = await s.get(self.model, key)
            return row_to_dict(row) if row is not None else None

    async def create(self, values: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in values.items() if k in self._columns()}
        try:
            async with self.storage.session() as s:
                row = self.model(**data)
                s.add(row)
                await s.flush()
                return row_to_dict(row)
        except IntegrityError as exc:
            raise Duplicate(f"{self.label} already exists ({_short(exc)})") from None

    async def create_many(self, items: list[dict[str, Any]]) -> int:
        cols = self._columns()
        try:
            async with self.storage.session() as s:
                s.add_all([self.model(**{k: v for k, v in i.items() if k in cols}) for i in items])
            return len(items)
        except IntegrityError as exc:
            raise Duplicate(f"{self.label} already exists ({_short(exc)})") from None

    async def update(self, key: Any, values: dict[str, Any]) -> dict[str, Any]:
        cols = self._columns() - {self._pk.key}
        try:
            async with self.storage.session() as s:
                row = await s.get(self.model, key)
                if row is None:
                    raise NotFound(f"{self.label} {key!r} not found")
                for k, v in values.items():
                    if k in cols:
                        setattr(row, k, v)
                await s.flush()
                return row_to_dict(row)
        except IntegrityError as exc:
            raise Duplicate(f"{self.label} conflicts with an existing one ({_short(exc)})") from None

    async def delete(self, key: Any) -> None:
        async with self.storage.session() as s:
            row = await s.get(self.model, key)
            if row is None:
                raise NotFound(f"{self.label} {key!r} not found")
            await s.delete(row)


def _short(exc: IntegrityError) -> str:
    return str(exc.orig).splitlines()[0][:200] if exc.orig is not None else "integrity error"
