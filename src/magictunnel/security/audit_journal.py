"""The audit journal: a synchronous append-only file written before a call's result is returned.

Each entry is one JSON line written with a single `write()` on an O_APPEND descriptor, so it is
in the kernel before the caller sees the result: a process killed with -9 right afterwards loses
nothing (set `security.audit.fsync` to survive power loss too). A background flusher moves
closed segments into the database; segments left by a dead process are replayed at start-up.
Inserts are idempotent by entry id, so a replay after a crash mid-flush never duplicates.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

SUFFIX = ".jsonl"
STAGING_MAX_AGE = 3600.0  # seconds


class Journal:
    def __init__(self, directory: Path, fsync: bool = False) -> None:
        self.directory = directory
        self.fsync = fsync
        self._fd: int | None = None
        self._path: Path | None = None
        self._seq = 0
        self._token = uuid.uuid4().hex[:12]
        self.pending = 0  # entries in the open segment
        self._swept_at = 0.0  # last sweep of stale staging files (once per STAGING_MAX_AGE is plenty)

    def _open(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        # unique per journal (several may live in one process), never reused: O_EXCL
        name = f"{os.getpid()}-{self._token}-{self._seq:08d}{SUFFIX}"
        path, staging = self.directory / f"seg-{name}", self.directory / f"new-{name}"
        # Created under a name no flusher looks at, locked, and only then renamed into view: a
        # flusher in another process must never find a live segment unlocked, take it for a dead
        # process's leftovers and unlink it while this process goes on writing into it.
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # marks the segment as owned by a live process
            os.rename(staging, path)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                staging.unlink()
            raise
        self._fd, self._path = fd, path
        return fd

    def append(self, entry: dict[str, Any]) -> None:
        line = (json.dumps(entry, ensure_ascii=False, default=str, separators=(",", ":")) + "\n").encode()
        fd = self._fd if self._fd is not None else self._open()
        os.write(fd, line)
        if self.fsync:
            os.fsync(fd)
        self.pending += 1

    def rotate(self) -> Path | None:
        """Close the open segment (if it holds entries); returns it for flushing."""
        if self._fd is None or self.pending == 0:
            return None
        fd, path = self._fd, self._path
        self._fd, self._path, self.pending = None, None, 0
        os.close(fd)
        return path

    def close(self) -> Path | None:
        path = self.rotate()
        if self._fd is not None:  # open but empty
            os.close(self._fd)
            if self._path is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._path.unlink()
            self._fd, self._path = None, None
        return path

    def orphans(self) -> list[Path]:
        """Closed segments nobody holds: left by a finished or killed process, or rotated here."""
        if not self.directory.exists():
            return []
        self._sweep_staging()
        found = []
        for path in sorted(self.directory.glob(f"seg-*{SUFFIX}")):
            if path == self._path:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                found.append(path)
            except BlockingIOError:
                pass  # a live process still writes it
            finally:
                os.close(fd)
        return found

    def _sweep_staging(self) -> None:
        """Remove staging files a process left when it died between creating and renaming one
        (they never hold entries). Only old ones: a young one may be a live process's, not locked yet."""
        now = time.time()
        if now - self._swept_at < STAGING_MAX_AGE:
            return
        self._swept_at, cutoff = now, now - STAGING_MAX_AGE
        for path in self.directory.glob(f"new-*{SUFFIX}"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    @staticmethod
    def read(path: Path) -> list[dict[str, Any]]:
        entries = []
        with contextlib.suppress(FileNotFoundError), path.open("rb") as fh:
            for raw in fh:
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue  # a torn last line from a crash mid-write: never reported as success
                if isinstance(entry, dict) and "id" in entry:
                    entries.append(entry)
        return entries
