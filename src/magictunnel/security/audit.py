"""Audit: one entry for every tool call and denial, authentication event, configuration and
security change and lockdown action. Who (client, original client), what, arguments and result
(redacted by every sanitization detector), outcome, duration.

Tool calls are journaled synchronously (see audit_journal) before the result is returned;
events recorded with `record_event` are committed to the database before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError, StatementError

from magictunnel.config.models import AuditSettings
from magictunnel.core.periodic import Periodic
from magictunnel.security.audit_journal import Journal
from magictunnel.security.common import InvalidInput
from magictunnel.storage import Storage, new_id
from magictunnel.storage.repositories import AuditQuery, AuditRepository

log = logging.getLogger("magictunnel.security.audit")

EVENT_TYPES = ("tool_call", "access", "auth", "config_change", "security_change", "lockdown")
# input_required: a tool call that ended asking a 2026-07-28 client for input (it retries)
OUTCOMES = ("success", "error", "denied", "blocked", "failure", "input_required")
CSV_FIELDS = (
    "id",
    "ts",
    "time",
    "event_type",
    "action",
    "outcome",
    "client_id",
    "original_client",
    "tool",
    "server",
    "source",
    "transport",
    "remote_addr",
    "stage",
    "rule",
    "duration_ms",
    "message",
    "arguments",
    "result",
    "details",
)


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int((ts % 1) * 1000):03d}Z"


class AuditService:
    def __init__(
        self, storage: Storage, settings: AuditSettings, redact: Any, journal_dir: Path | None = None
    ) -> None:
        self.storage = storage
        self.repo = AuditRepository(storage)
        self.settings = settings
        self.redact = redact
        self.journal = Journal(journal_dir or storage.data_dir / "audit-journal", fsync=settings.fsync)
        self._flush_lock = asyncio.Lock()
        self._flusher: Periodic | None = None
        self.stats = {"recorded": 0, "flushed": 0, "flush_errors": 0, "retention_deleted": 0}
        self.last_error: str | None = None
        self._last_retention = 0.0
        self._started = False
        self._listeners: list[Any] = []

    # ---- recording -----------------------------------------------------------------------
    def _clip(self, value: Any) -> Any:
        if value is None:
            return None
        value = self.redact(value)
        text = json.dumps(value, ensure_ascii=False, default=str)
        if len(text) <= self.settings.max_value_chars:
            return value
        return {"truncated": True, "chars": len(text), "preview": text[: self.settings.max_value_chars]}

    def record(self, entry: dict[str, Any]) -> str:
        """Journal one entry now (synchronous, durable against a killed process)."""
        entry = dict(entry)
        entry.setdefault("id", new_id())
        entry.setdefault("ts", time.time())
        entry.setdefault("action", "")
        entry.setdefault("message", "")
        for key in ("arguments", "result", "details"):
            if key in entry:
                entry[key] = self._clip(entry[key])
        for (
            key,
            value,
        ) in entry.items():  # databases refuse NUL in text columns: never let one entry jam the log
            if isinstance(value, str) and "\x00" in value:
                entry[key] = value.replace("\x00", "\\u0000")
        self.journal.append(entry)
        self.stats["recorded"] += 1
        for listener in self._listeners:
            try:
                listener(entry)
            except Exception as exc:  # a listener must never break auditing
                log.error("audit listener %r failed: %s", listener, exc)
        return entry["id"]

    def subscribe(self, listener: Any) -> Any:
        """Call `listener(entry)` (synchronously, redacted entry) for every recorded entry, e.g. to
        notify administrators of violations. Returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def record_event(
        self,
        event_type: str,
        action: str,
        outcome: str,
        *,
        actor: str | None = None,
        message: str = "",
        details: Any = None,
        client_id: str | None = None,
        remote_addr: str | None = None,
        **extra: Any,
    ) -> str:
        """Record an event and make sure it is in the database before returning."""
        entry = {
            "event_type": event_type,
            "action": action,
            "outcome": outcome,
            "message": message,
            "client_id": client_id or actor,
            "remote_addr": remote_addr,
            "details": details,
            **extra,
        }
        entry_id = self.record(entry)
        await self.flush()
        return entry_id

    # ---- moving the journal into the database --------------------------------------------
    async def flush(self) -> int:
        async with self._flush_lock:
            self.journal.rotate()
            moved = 0
            for path in self.journal.orphans():
                entries = Journal.read(path)
                try:
                    moved += await self.repo.append(entries)
                except StatementError as exc:
                    if isinstance(exc, OperationalError | InterfaceError) or not await self._database_up():
                        self.stats["flush_errors"] += 1
                        self.last_error = f"{type(exc).__name__}: {exc}"
                        raise
                    # the database refused some entry: isolate it, keep the rest flowing
                    log.error("audit: database refused a batch (%s); inserting one by one", exc)
                    moved += await self._append_one_by_one(entries, path)
                except Exception as exc:  # database unreachable: the segment stays for the next flush
                    self.stats["flush_errors"] += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    raise
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            self.stats["flushed"] += moved
            self.last_error = None
            return moved

    async def _database_up(self) -> bool:
        return bool((await self.storage.health()).get("healthy"))

    async def _append_one_by_one(self, entries: list[dict[str, Any]], path: Path) -> int:
        moved = 0
        for entry in entries:
            try:
                moved += await self.repo.append([entry])
            except StatementError as exc:
                if isinstance(exc, OperationalError | InterfaceError) or not await self._database_up():
                    raise
                rejected = path.with_name(f"rejected-{path.name}")
                with rejected.open("a", encoding="utf-8") as fh:  # kept for an operator, never lost
                    fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
                self.stats["rejected"] = self.stats.get("rejected", 0) + 1
                log.error(
                    "audit: entry %s refused by the database (%s); kept in %s", entry.get("id"), exc, rejected
                )
        return moved

    async def start(self) -> None:
        replayed = await self.flush()  # segments a previous (killed) process left behind
        if replayed:
            log.warning("audit: replayed %d journal entries left by a previous process", replayed)

        async def round_() -> None:
            await self.flush()
            if time.time() - self._last_retention > 3600:
                await self.apply_retention()

        def failed(exc: Exception) -> None:  # keep journaling; the database may come back
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("audit flush failed (entries stay in the journal): %s", self.last_error)

        self._flusher = Periodic("audit-flush", self.settings.flush_interval, round_, on_error=failed)
        self._flusher.start()
        self._started = True

    async def stop(self) -> None:
        if self._flusher is not None:
            await self._flusher.stop()
            self._flusher = None
        try:
            await self.flush()
        finally:
            self.journal.close()
            with contextlib.suppress(Exception):
                await self.flush()

    # ---- reading -------------------------------------------------------------------------
    @staticmethod
    def build_query(params: dict[str, Any]) -> AuditQuery:
        q = AuditQuery()
        for key in ("event_type", "outcome", "client_id", "tool", "text"):
            value = params.get(key)
            if value is not None and not isinstance(value, str):
                raise InvalidInput(f"{key}: must be a string")
            setattr(q, key, value or None)
        if q.event_type and q.event_type not in EVENT_TYPES:
            raise InvalidInput(f"event_type: must be one of {', '.join(EVENT_TYPES)}")
        if q.outcome and q.outcome not in OUTCOMES:
            raise InvalidInput(f"outcome: must be one of {', '.join(OUTCOMES)}")
        for key in ("since", "until"):
            value = params.get(key)
            if value in (None, ""):
                continue
            setattr(q, key, _parse_time(value, key))
        limit, offset = params.get("limit", 100), params.get("offset", 0)
        if not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise InvalidInput("limit: must be an integer between 1 and 10000")
        if not isinstance(offset, int) or offset < 0:
            raise InvalidInput("offset: must be a non-negative integer")
        q.limit, q.offset = limit, offset
        q.violations_only = bool(params.get("violations_only"))
        return q

    async def query(self, q: AuditQuery) -> dict[str, Any]:
        await self.flush()
        entries, total = await self.repo.query(q)
        return {
            "total": total,
            "limit": q.limit,
            "offset": q.offset,
            "entries": [{**e, "time": iso(e["ts"])} for e in entries],
        }

    async def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        return (await self.query(AuditQuery(limit=limit)))["entries"]

    async def search(self, text: str, limit: int = 100) -> list[dict[str, Any]]:
        if not text:
            raise InvalidInput("q: give the text to search for")
        return (await self.query(AuditQuery(text=text, limit=limit)))["entries"]

    async def violations(self, limit: int = 100) -> list[dict[str, Any]]:
        return (await self.query(AuditQuery(violations_only=True, limit=limit)))["entries"]

    async def export(self, q: AuditQuery, fmt: str) -> AsyncIterator[str]:
        if fmt not in ("jsonl", "csv"):
            raise InvalidInput("format: must be jsonl or csv")
        await self.flush()
        if fmt == "csv":
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            yield buf.getvalue()
        async for row in self.repo.iterate(q):
            row = {**row, "time": iso(row["ts"])}
            if fmt == "jsonl":
                yield json.dumps(row, ensure_ascii=False, default=str) + "\n"
                continue
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore")
            writer.writerow(
                {
                    k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                    for k, v in row.items()
                }
            )
            yield buf.getvalue()

    async def apply_retention(
        self, days: float | None = None, max_entries: int | None = None
    ) -> dict[str, int]:
        days = days if days is not None else self.settings.retention_days
        max_entries = max_entries if max_entries is not None else self.settings.max_entries
        if days is not None and (not isinstance(days, int | float) or days <= 0):
            raise InvalidInput("days: must be a positive number")
        if max_entries is not None and (not isinstance(max_entries, int) or max_entries < 1):
            raise InvalidInput("max_entries: must be a positive integer")
        await self.flush()
        by_age = await self.repo.delete_before(time.time() - days * 86400) if days else 0
        by_count = await self.repo.delete_beyond(max_entries) if max_entries else 0
        self._last_retention = time.time()
        self.stats["retention_deleted"] += by_age + by_count
        return {"deleted_by_age": by_age, "deleted_by_count": by_count}

    async def get_statistics(self) -> dict[str, Any]:
        counts = await self.repo.counts()
        return {
            **self.stats,
            **counts,
            "journal_pending": self.journal.pending,
            "retention_days": self.settings.retention_days,
            "max_entries": self.settings.max_entries,
        }

    def get_health(self) -> dict[str, Any]:
        running = self._flusher is not None and self._flusher.running
        return {
            "healthy": running and self.last_error is None,
            "flusher_running": running,
            "journal": str(self.journal.directory),
            "last_error": self.last_error,
        }


def _parse_time(value: Any, key: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        import datetime as dt

        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{key}: must be epoch seconds or an ISO 8601 time, not {value!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.timestamp()
    raise InvalidInput(f"{key}: must be epoch seconds or an ISO 8601 time")
