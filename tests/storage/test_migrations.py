"""Migrations: an existing database upgrades in place; models and migrations agree."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

import magictunnel.storage.models as models_pkg
from magictunnel.storage import Base, Storage
from magictunnel.storage import testing as pg
from magictunnel.storage.engine import normalize_url
from magictunnel.storage.migrate import current_revisions, upgrade
from magictunnel.storage.repositories import AllowlistRepository, ApprovalRepository, AuditRepository

for _info in pkgutil.iter_modules(models_pkg.__path__):  # every domain's tables, like the Alembic env
    importlib.import_module(f"{models_pkg.__name__}.{_info.name}")


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    url = await pg.create_database("mt_migr")
    try:
        yield url
    finally:
        await pg.drop_database(url)


@pytest.mark.anyio
async def test_existing_database_upgrades_in_place(fresh_url: str) -> None:
    # 1. a database as an older release left it: only security_0001 (+ core) applied, with data
    engine = create_async_engine(normalize_url(fresh_url))
    try:
        assert await upgrade(engine, "security_0001") == ["security_0001"]
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO allowlist_rules (name, kind, match_type, pattern, action, priority, parameters,"
                    " enabled, description, created_at, updated_at) VALUES"
                    " ('keep-me', 'tool', 'glob', 'fs_*', 'deny', 5, '{}', true, 'old', 1.0, 1.0)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO audit_entries (id, ts, event_type, action, outcome, message) VALUES"
                    " ('a1', 2.0, 'tool_call', 'call', 'success', 'before upgrade')"
                )
            )
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert "policy_approvals" not in tables
    finally:
        await engine.dispose()

    # 2. the new release starts on it: upgrade in place, data intact, new table usable
    store = Storage(fresh_url)
    await store.start()
    try:
        assert "security_0002" in store.migrated_to
        rules = await AllowlistRepository(store).list()
        assert [(r["name"], r["pattern"], r["action"], r["priority"]) for r in rules] == [
            ("keep-me", "fs_*", "deny", 5)
        ]
        assert (await AuditRepository(store).get("a1"))["message"] == "before upgrade"
        created = await ApprovalRepository(store).create(
            {"rule": "r", "client_id": "c", "tool": "t", "arguments_hash": "h"}
        )
        assert created["status"] == "pending"
        assert "security_0002" in await current_revisions(store.engine)
    finally:
        await store.close()


@pytest.mark.anyio
async def test_models_match_migrations(storage: Storage) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return [
            d
            for d in compare_metadata(ctx, Base.metadata)
            if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
        ]

    assert storage.engine is not None
    async with storage.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
