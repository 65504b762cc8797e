"""Capability cache: what each external server offered, with timestamps, history and drift.

A small SQLite store (stdlib `sqlite3`, one file under the data dir by default:
`<storage.data_dir>/upstream-capabilities.db`, or `external_mcp.cache_path`). Each time a
server's listing changes a new version row is written; the previous one stays as history.
At boot the latest version of every server is served immediately, before the server is
reachable. Drift compares a new listing with the previous version: tools added, removed,
and changed (input schema, output schema or description) - a changed tool is how a user
notices a server changed under them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS upstream_capabilities (
    server TEXT NOT NULL,
    version INTEGER NOT NULL,
    listed_at REAL NOT NULL,
    last_seen REAL NOT NULL,
    digest TEXT NOT NULL,
    protocol_version TEXT,
    data TEXT NOT NULL,
    drift TEXT,
    PRIMARY KEY (server, version)
);
"""
HISTORY_KEEP = 20


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
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, server: str, listing: dict[str, Any], protocol_version: str | None) -> dict[str, Any]:
        """Store a listing; returns {"version", "changed", "drift"} (drift vs the previous version)."""
        now = time.time()
        dig = digest(listing)
        with self._lock:
            row = self._db.execute(
                "SELECT version, digest, data FROM upstream_capabilities WHERE server=? "
                "ORDER BY version DESC LIMIT 1",
                (server,),
            ).fetchone()
            if row is not None and row[1] == dig:
                self._db.execute(
                    "UPDATE upstream_capabilities SET last_seen=?, protocol_version=? "
                    "WHERE server=? AND version=?",
                    (now, protocol_version, server, row[0]),
                )
                return {"version": row[0], "changed": False, "drift": None}
            version = (row[0] + 1) if row is not None else 1
            drift = tool_drift(json.loads(row[2]), listing) if row is not None else None
            self._db.execute(
                "INSERT INTO upstream_capabilities (server, version, listed_at, last_seen, digest, "
                "protocol_version, data, drift) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    server,
                    version,
                    now,
                    now,
                    dig,
                    protocol_version,
                    json.dumps(listing),
                    json.dumps(drift) if drift is not None else None,
                ),
            )
            self._db.execute(
                "DELETE FROM upstream_capabilities WHERE server=? AND version<=?",
                (server, version - HISTORY_KEEP),
            )
        return {"version": version, "changed": True, "drift": drift}

    def latest(self, server: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT version, listed_at, last_seen, protocol_version, data, drift FROM upstream_capabilities "
                "WHERE server=? ORDER BY version DESC LIMIT 1",
                (server,),
            ).fetchone()
        if row is None:
            return None
        return {
            "version": row[0],
            "listed_at": row[1],
            "last_seen": row[2],
            "protocol_version": row[3],
            "listing": json.loads(row[4]),
            "drift": json.loads(row[5]) if row[5] else None,
        }

    def history(self, server: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT version, listed_at, last_seen, digest, drift FROM upstream_capabilities WHERE server=? "
                "ORDER BY version DESC",
                (server,),
            ).fetchall()
        return [
            {
                "version": r[0],
                "listed_at": r[1],
                "last_seen": r[2],
                "digest": r[3],
                "drift": json.loads(r[4]) if r[4] else None,
            }
            for r in rows
        ]

    def forget(self, server: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM upstream_capabilities WHERE server=?", (server,))
