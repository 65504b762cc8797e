"""Capability cache: what each external server offered, with timestamps, history and drift.

A small SQLite store of this node (SQLAlchemy Core on a synchronous engine: it is read at boot,
before anything async runs; one file under the data dir by default:
`<storage.data_dir>/upstream-capabilities.db`, or `external_mcp.cache_path`). It is a cache: a
file written by an older layout is set aside and rebuilt, never migrated. Each time a
server's listing changes a new version row is written; the previous one stays as history.
At boot the latest version of every server is served immediately, before the server is
reachable. Drift compares a new listing with the previous version: tools added, removed,
and changed (input schema, output schema or description) - a changed tool is how a user
notices a server changed under them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import DatabaseError

log = logging.getLogger("magictunnel.upstream")

metadata = MetaData()
capabilities = Table(
    "upstream_capabilities",
    metadata,
    Column("server", String, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("listed_at", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("digest", String, nullable=False),
    Column("protocol_version", String),
    Column("data", Text, nullable=False),
    Column("drift", Text),
)
HISTORY_KEEP = 20


class OtherLayout(Exception):
    """The file holds the table in a layout this version does not write."""


def digest(listing: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(listing, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def tool_drift(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Tools added, removed and changed between two listings."""
    before = {t.get("name"): t for t in old.get("tools") or [] if isinstance(t, dict)}
    after = {t.get("name"): t for t in new.get("tools") or [] if isinstance(t, dict)}
    changed = []
    for name in sorted(set(before) & set(after), key=str):
        fields = [
            f
            for f in ("inputSchema", "outputSchema", "description", "annotations")
            if before[name].get(f) != after[name].get(f)
        ]
        if fields:
            changed.append({"tool": name, "fields": fields})
    return {
        "added": sorted((n for n in set(after) - set(before)), key=str),
        "removed": sorted((n for n in set(before) - set(after)), key=str),
        "changed": changed,
    }


def has_drift(drift: dict[str, Any] | None) -> bool:
    return bool(drift and (drift.get("added") or drift.get("removed") or drift.get("changed")))


class CapabilityCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._engine = self._open()
        except (DatabaseError, OtherLayout) as exc:  # a cache is rebuilt, never migrated
            aside = path.with_name(path.name + f".unreadable-{int(time.time())}")
            log.warning("capability cache %s unreadable (%s); moved to %s, starting empty", path, exc, aside)
            for suffix in ("", "-wal", "-shm"):  # SQLite must not replay a stale log into the new file
                companion = path.with_name(path.name + suffix)
                if companion.exists():
                    companion.replace(aside.with_name(aside.name + suffix))
            self._engine = self._open()

    def _open(self) -> Any:
        engine = create_engine(f"sqlite:///{self.path}")

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")

        try:
            found = inspect(engine)
            columns = (
                {c["name"] for c in found.get_columns(capabilities.name)}
                if found.has_table(capabilities.name)
                else set()
            )
            if columns and columns != {c.name for c in capabilities.columns}:
                raise OtherLayout(f"unexpected columns {sorted(columns)}")
            metadata.create_all(engine)
        except BaseException:
            engine.dispose()
            raise
        return engine

    def close(self) -> None:
        with self._lock:
            self._engine.dispose()

    def record(self, server: str, listing: dict[str, Any], protocol_version: str | None) -> dict[str, Any]:
        """Store a listing; returns {"version", "changed", "drift"} (drift vs the previous version)."""
        now = time.time()
        dig = digest(listing)
        t = capabilities.c
        with self._lock, self._engine.begin() as db:
            row = db.execute(
                select(t.version, t.digest, t.data)
                .where(t.server == server)
                .order_by(t.version.desc())
                .limit(1)
            ).first()
            if row is not None and row.digest == dig:
                db.execute(
                    update(capabilities)
                    .where(t.server == server, t.version == row.version)
                    .values(last_seen=now, protocol_version=protocol_version)
                )
                return {"version": row.version, "changed": False, "drift": None}
            version = (row.version + 1) if row is not None else 1
            drift = tool_drift(json.loads(row.data), listing) if row is not None else None
            db.execute(
                capabilities.insert().values(
                    server=server,
                    version=version,
                    listed_at=now,
                    last_seen=now,
                    digest=dig,
                    protocol_version=protocol_version,
                    data=json.dumps(listing),
                    drift=json.dumps(drift) if drift is not None else None,
                )
            )
            db.execute(delete(capabilities).where(t.server == server, t.version <= version - HISTORY_KEEP))
        return {"version": version, "changed": True, "drift": drift}

    def latest(self, server: str) -> dict[str, Any] | None:
        t = capabilities.c
        with self._lock, self._engine.connect() as db:
            row = db.execute(
                select(t.version, t.listed_at, t.last_seen, t.protocol_version, t.data, t.drift)
                .where(t.server == server)
                .order_by(t.version.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return {
            "version": row.version,
            "listed_at": row.listed_at,
            "last_seen": row.last_seen,
            "protocol_version": row.protocol_version,
            "listing": json.loads(row.data),
            "drift": json.loads(row.drift) if row.drift else None,
        }

    def history(self, server: str) -> list[dict[str, Any]]:
        t = capabilities.c
        with self._lock, self._engine.connect() as db:
            rows = db.execute(
                select(t.version, t.listed_at, t.last_seen, t.digest, t.drift)
                .where(t.server == server)
                .order_by(t.version.desc())
            ).all()
        return [
            {
                "version": r.version,
                "listed_at": r.listed_at,
                "last_seen": r.last_seen,
                "digest": r.digest,
                "drift": json.loads(r.drift) if r.drift else None,
            }
            for r in rows
        ]

    def forget(self, server: str) -> None:
        with self._lock, self._engine.begin() as db:
            db.execute(delete(capabilities).where(capabilities.c.server == server))
