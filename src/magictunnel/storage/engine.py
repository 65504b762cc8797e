"""The storage object: one async SQLAlchemy engine + session factory, migrated on start.

SQLite is the zero-configuration default (`<storage.data_dir>/magictunnel.db`, WAL journal,
created on first start); PostgreSQL is selected by URL (`storage.database_url` or the
environment variable MAGICTUNNEL_DATABASE_URL, which wins).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger("magictunnel.storage")

ENV_DATABASE_URL = "MAGICTUNNEL_DATABASE_URL"
DB_FILE_NAME = "magictunnel.db"


class StorageError(RuntimeError):
    """A storage problem the operator must fix (bad URL, unreachable database, ...)."""


def normalize_url(raw: str) -> URL:
    """Accept `sqlite:///path`, `postgresql://...` (and `postgres://`) and pick the async drivers."""
    try:
        url = make_url(raw.strip())
    except ArgumentError as exc:
        raise StorageError(f"storage.database_url: not a database URL ({exc})") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+asyncpg")
    raise StorageError(
        f"storage.database_url: unsupported database '{backend}' (use sqlite:///path or postgresql://...)"
    )


def resolve_database_url(
    database_url: str | None,
    data_dir: str | Path,
    base_dir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> URL:
    env = os.environ if environ is None else environ
    raw = env.get(ENV_DATABASE_URL) or database_url
    if raw:
        return normalize_url(raw)
    directory = Path(data_dir)
    if not directory.is_absolute():
        directory = (base_dir or Path.cwd()) / directory
    return URL.create("sqlite+aiosqlite", database=str(directory / DB_FILE_NAME))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a committed transaction survives a crash of the process (kill -9).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Storage:
    """Owns the engine. `await start()` creates/migrates the database; `session()` opens a unit of work."""

    def __init__(self, url: URL | str, data_dir: Path | None = None) -> None:
        self.url = url if isinstance(url, URL) else normalize_url(url)
        # local directory for files next to the database (audit journal, key files, caches)
        if data_dir is None:
            data_dir = (
                Path(self.url.database).parent if self.is_sqlite and self.url.database else Path("data")
            )
        self.data_dir = Path(data_dir)
        self.engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._lock = asyncio.Lock()
        self.migrated_to: list[str] = []

    @classmethod
    def from_config(cls, config: Any, base_dir: Path | None = None) -> Storage:
        """From a `MagicTunnelConfig` (uses its `storage` section)."""
        section = config.storage
        data_dir = Path(section.data_dir)
        if not data_dir.is_absolute():
            data_dir = (base_dir or Path.cwd()) / data_dir
        return cls(resolve_database_url(section.database_url, section.data_dir, base_dir), data_dir)

    # ---- facts ---------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def display_url(self) -> str:
        """The URL with any password hidden: safe to log and to show in APIs."""
        return self.url.render_as_string(hide_password=True)

    @property
    def started(self) -> bool:
        return self._sessions is not None

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self, migrate: bool = True) -> Storage:
        async with self._lock:
            if self._sessions is not None:
                return self
            if self.is_sqlite and self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(self.url, pool_pre_ping=not self.is_sqlite)
            if self.is_sqlite:
                event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
            try:
                async with engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                if migrate:
                    from magictunnel.storage.migrate import upgrade

                    self.migrated_to = await upgrade(engine)
            except Exception as exc:
                await engine.dispose()
                raise StorageError(f"database {self.display_url}: {type(exc).__name__}: {exc}") from exc
            self.engine = engine
            self._sessions = async_sessionmaker(engine, expire_on_commit=False)
            log.info("storage ready: %s (revisions %s)", self.display_url, ", ".join(self.migrated_to))
            return self

    async def close(self) -> None:
        async with self._lock:
            if self.engine is not None:
                await self.engine.dispose()
            self.engine = None
            self._sessions = None

    # ---- units of work -------------------------------------------------------------------
    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on normal exit, rolled back on error."""
        if self._sessions is None:
            await self.start()
        assert self._sessions is not None
        async with self._sessions() as session, session.begin():
            yield session

    async def health(self) -> dict[str, Any]:
        if self.engine is None:
            return {"healthy": False, "database": self.display_url, "error": "not started"}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return {
                "healthy": True,
                "database": self.display_url,
                "dialect": self.dialect,
                "revisions": self.migrated_to,
            }
        except Exception as exc:
            return {"healthy": False, "database": self.display_url, "error": f"{type(exc).__name__}: {exc}"}
