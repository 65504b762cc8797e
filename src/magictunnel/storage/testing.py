"""Helpers for test suites: a throw-away PostgreSQL database per run, emptied between tests.

Used by the fixtures in tests/storage and tests/security (and any domain that stores data).
The admin URL defaults to postgresql://postgres@127.0.0.1:5432/postgres and may be set with
the environment variable MAGICTUNNEL_TEST_PG_URL.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    return os.environ.get("MAGICTUNNEL_TEST_PG_URL", DEFAULT_ADMIN_URL)


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def create_database(prefix: str = "mt_test") -> str:
    """Create a uniquely named database; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_dsn(admin_url()))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return _dsn(admin_url(), name)


async def drop_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_dsn(admin_url()))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def truncate_all(url: str, keep: tuple[str, ...] = ("alembic_version",)) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            if r["tablename"] not in keep
        ]
        if tables:
            await conn.execute(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
            )
    finally:
        await conn.close()


def run(coro):
    return asyncio.run(coro)
