"""Audit entries: append (idempotent by id), query, search, violations, export, retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from magictunnel.storage.engine import Storage
from magictunnel.storage.models.security import AuditEntry
from magictunnel.storage.repositories.base import row_to_dict

VIOLATION_OUTCOMES = ("denied", "blocked")
_DEFAULTS: dict[str, Any] = {"action": "", "message": ""}


@dataclass
class AuditQuery:
    event_type: str | None = None
    outcome: str | None = None
    client_id: str | None = None
    tool: str | None = None
    since: float | None = None
    until: float | None = None
    text: str | None = None
    violations_only: bool = False
    limit: int = 100
    offset: int = 0


class AuditRepository:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def append(self, entries: list[dict[str, Any]]) -> int:
        """Insert entries whose id is not stored yet; returns how many were new."""
        if not entries:
            return 0
        cols = {a.key for a in AuditEntry.__mapper__.column_attrs}
        try:
            return await self._append(entries, cols)
        except IntegrityError:  # another process replayed the same journal concurrently
            inserted = 0
            for entry in entries:
                try:
                    inserted += await self._append([entry], cols)
                except IntegrityError:
                    continue
            return inserted

    async def _append(self, entries: list[dict[str, Any]], cols: set[str]) -> int:
        ids = [e["id"] for e in entries]
        table = AuditEntry.__table__
        async with self.storage.session() as s:
            existing: set[str] = set()
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                existing.update(
                    (await s.scalars(select(AuditEntry.id).where(AuditEntry.id.in_(chunk)))).all()
                )
            fresh = [
                {c: e.get(c, _DEFAULTS.get(c)) for c in cols} for e in entries if e["id"] not in existing
            ]
            for i in range(0, len(fresh), 1000):
                await s.execute(insert(table), fresh[i : i + 1000])  # one executemany per batch
            return len(fresh)

    def _filtered(self, q: AuditQuery) -> Any:
        stmt = select(AuditEntry)
        if q.event_type:
            stmt = stmt.where(AuditEntry.event_type == q.event_type)
        if q.outcome:
            stmt = stmt.where(AuditEntry.outcome == q.outcome)
        if q.violations_only:
            stmt = stmt.where(AuditEntry.outcome.in_(VIOLATION_OUTCOMES))
        if q.client_id:
            stmt = stmt.where(
                or_(AuditEntry.client_id == q.client_id, AuditEntry.original_client == q.client_id)
            )
        if q.tool:
            stmt = stmt.where(AuditEntry.tool == q.tool)
        if q.since is not None:
            stmt = stmt.where(AuditEntry.ts >= q.since)
        if q.until is not None:
            stmt = stmt.where(AuditEntry.ts <= q.until)
        if q.text:
            needle = f"%{q.text.lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(AuditEntry.message).like(needle),
                    func.lower(func.coalesce(AuditEntry.tool, "")).like(needle),
                    func.lower(func.coalesce(AuditEntry.client_id, "")).like(needle),
                    func.lower(func.coalesce(AuditEntry.rule, "")).like(needle),
                    func.lower(AuditEntry.action).like(needle),
                    func.lower(func.coalesce(cast(AuditEntry.arguments, String), "")).like(needle),
                )
            )
        return stmt

    async def query(self, q: AuditQuery) -> tuple[list[dict[str, Any]], int]:
        base = self._filtered(q)
        async with self.storage.session() as s:
            total = int(await s.scalar(select(func.count()).select_from(base.subquery())) or 0)
            rows = await s.scalars(
                base.order_by(AuditEntry.ts.desc(), AuditEntry.id).limit(q.limit).offset(q.offset)
            )
            return [row_to_dict(r) for r in rows.all()], total

    async def iterate(self, q: AuditQuery, batch: int = 1000) -> AsyncIterator[dict[str, Any]]:
        """Every matching entry, oldest first, in batches (for exports)."""
        offset = 0
        while True:
            stmt = self._filtered(q).order_by(AuditEntry.ts, AuditEntry.id).limit(batch).offset(offset)
            async with self.storage.session() as s:
                rows = [row_to_dict(r) for r in (await s.scalars(stmt)).all()]
            for row in rows:
                yield row
            if len(rows) < batch:
                return
            offset += batch

    async def get(self, entry_id: str) -> dict[str, Any] | None:
        async with self.storage.session() as s:
            row = await s.get(AuditEntry, entry_id)
            return row_to_dict(row) if row else None

    async def delete_before(self, ts: float) -> int:
        async with self.storage.session() as s:
            result = await s.execute(delete(AuditEntry).where(AuditEntry.ts < ts))
            return int(result.rowcount or 0)

    async def delete_beyond(self, keep: int) -> int:
        """Keep only the newest `keep` entries."""
        async with self.storage.session() as s:
            cutoff = await s.scalar(
                select(AuditEntry.ts).order_by(AuditEntry.ts.desc()).offset(keep).limit(1)
            )
            if cutoff is None:
                return 0
            result = await s.execute(delete(AuditEntry).where(AuditEntry.ts <= cutoff))
            return int(result.rowcount or 0)

    async def counts(self, since: float | None = None) -> dict[str, Any]:
        async with self.storage.session() as s:
            by_outcome_stmt = select(AuditEntry.outcome, func.count()).group_by(AuditEntry.outcome)
            by_type_stmt = select(AuditEntry.event_type, func.count()).group_by(AuditEntry.event_type)
            if since is not None:
                by_outcome_stmt = by_outcome_stmt.where(AuditEntry.ts >= since)
                by_type_stmt = by_type_stmt.where(AuditEntry.ts >= since)
            by_outcome = {k: int(v) for k, v in (await s.execute(by_outcome_stmt)).all()}
            by_type = {k: int(v) for k, v in (await s.execute(by_type_stmt)).all()}
            oldest = await s.scalar(select(func.min(AuditEntry.ts)))
            newest = await s.scalar(select(func.max(AuditEntry.ts)))
        return {
            "total": sum(by_outcome.values()),
            "by_outcome": by_outcome,
            "by_event_type": by_type,
            "oldest": oldest,
            "newest": newest,
        }
