from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from magictunnel.config.models import MagicTunnelConfig
from magictunnel.storage import Storage, StorageError, resolve_database_url
from magictunnel.storage.engine import normalize_url
from magictunnel.storage.migrate import heads


def test_default_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    url = resolve_database_url(None, "./data", tmp_path, environ={})
    assert url.drivername == "sqlite+aiosqlite"
    assert Path(url.database) == tmp_path / "data" / "magictunnel.db"


def test_environment_url_wins_and_drivers_are_async() -> None:
    url = resolve_database_url(
        "sqlite:///x.db",
        "./data",
        None,
        environ={"MAGICTUNNEL_DATABASE_URL": "postgres://u:secret@db:5432/mt"},
    )
    assert url.drivername == "postgresql+asyncpg"
    assert url.database == "mt"
    assert "secret" not in Storage(url).display_url


@pytest.mark.parametrize(
    "raw, fragment", [("mysql://x/y", "unsupported database 'mysql'"), ("not a url", "not a database URL")]
)
def test_bad_urls_are_explained(raw: str, fragment: str) -> None:
    with pytest.raises(StorageError, match=fragment):
        normalize_url(raw)


@pytest.mark.anyio
async def test_first_start_creates_database_in_wal_mode(tmp_path: Path) -> None:
    config = MagicTunnelConfig.model_validate({"storage": {"data_dir": "state"}})
    store = Storage.from_config(config, tmp_path)
    await store.start()
    try:
        assert store.migrated_to
        health = await store.health()
        assert health["healthy"] is True and health["dialect"] == "sqlite"
    finally:
        await store.close()
    db = tmp_path / "state" / "magictunnel.db"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"settings", "allowlist_rules", "audit_entries", "policy_approvals", "alembic_version"} <= tables


@pytest.mark.anyio
async def test_start_is_idempotent_and_reopen_keeps_revision(storage: Storage) -> None:
    first = list(storage.migrated_to)
    await storage.start()
    assert storage.migrated_to == first
    assert set(heads()) >= {"core_0001", "security_0002"}


@pytest.mark.anyio
async def test_unreachable_postgres_fails_with_reason() -> None:
    store = Storage("postgresql://postgres@127.0.0.1:1/nothing")
    with pytest.raises(StorageError, match=r"database postgresql\+asyncpg://postgres@127.0.0.1:1/nothing"):
        await store.start()
    assert not store.started
