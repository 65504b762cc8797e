"""The database backend against real SQLite files and the local PostgreSQL server."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from magictunnel.backends.base import BackendError
from magictunnel.backends.database import DatabaseBackend
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext

PG = "postgresql://postgres@127.0.0.1:5432/postgres"


class DictVault:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets

    def get_secret(self, name: str) -> str | None:
        return self.secrets.get(name)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Path:
    path = tmp_path / "pets.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "create table pets (id integer primary key, name text, species text, weight real, born date)"
    )
    conn.executemany(
        "insert into pets (name, species, weight, born) values (?, ?, ?, ?)",
        [(f"pet{i}", "cat" if i % 2 else "dog", 3.5 + i, "2020-01-01") for i in range(30)],
    )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
async def backend() -> AsyncIterator[DatabaseBackend]:
    b = DatabaseBackend(lambda: DictVault({"pg.password": "unused-with-trust"}))
    yield b
    await b.aclose()


def tool(config: dict[str, Any], source: str = "builtin") -> ToolDef:
    return ToolDef(name="q", routing={"type": "database", "config": config}, source=source)


async def run(
    backend: DatabaseBackend, config: dict[str, Any], args: dict[str, Any], source: str = "builtin"
) -> Any:
    return await backend.execute(tool(config, source), args, CallContext())


@pytest.mark.anyio
async def test_sqlite_parameterised_query_with_row_limit(backend: DatabaseBackend, sqlite_db: Path) -> None:
    config = {
        "url": f"sqlite:///{sqlite_db}",
        "query": "select id, name, weight from pets where species = :species order by id",
        "max_rows": 5,
    }
    result = await run(backend, config, {"species": "cat"})
    data = result.structured_content
    assert not result.is_error
    assert data["columns"] == ["id", "name", "weight"]
    assert data["row_count"] == 5 and data["truncated"] is True
    assert data["rows"][0] == {"id": 2, "name": "pet1", "weight": 4.5}


@pytest.mark.anyio
async def test_injection_attempts_are_bound_as_values(backend: DatabaseBackend, sqlite_db: Path) -> None:
    config = {"url": f"sqlite:///{sqlite_db}", "query": "select count(*) as n from pets where name = :name"}
    result = await run(backend, config, {"name": "x' or '1'='1"})
    assert result.structured_content["rows"] == [{"n": 0}]
    mapped = {**config, "parameters": {"name": "{pet.name}"}}
    result = await run(backend, mapped, {"pet": {"name": "pet3"}})
    assert result.structured_content["rows"] == [{"n": 1}]


@pytest.mark.anyio
async def test_sqlite_is_read_only_by_default(backend: DatabaseBackend, sqlite_db: Path) -> None:
    result = await run(backend, {"url": f"sqlite:///{sqlite_db}", "query": "delete from pets"}, {})
    assert result.is_error and "read-only" in result.content[0].text
    count = sqlite3.connect(sqlite_db).execute("select count(*) from pets").fetchone()[0]
    assert count == 30
    writable = {
        "url": f"sqlite:///{sqlite_db}",
        "query": "update pets set name = :name where id = :id",
        "read_only": False,
    }
    result = await run(backend, writable, {"name": "renamed", "id": 1})
    assert result.structured_content == {"rows_affected": 1}
    assert sqlite3.connect(sqlite_db).execute("select name from pets where id = 1").fetchone()[0] == "renamed"


@pytest.mark.anyio
async def test_relative_sqlite_path_resolves_against_the_capability_file(
    backend: DatabaseBackend, sqlite_db: Path
) -> None:
    source = f"file:{sqlite_db.parent / 'tools.yaml'}"
    result = await run(
        backend, {"url": "sqlite:///pets.db", "query": "select count(*) as n from pets"}, {}, source
    )
    assert result.structured_content["rows"] == [{"n": 30}]
    with pytest.raises(BackendError, match="database file not found"):
        await run(backend, {"url": "sqlite:///missing.db", "query": "select 1"}, {}, source)


@pytest.mark.anyio
async def test_postgresql_read_only_transaction(backend: DatabaseBackend) -> None:
    table = f"mt_test_{uuid.uuid4().hex[:8]}"
    rw = {"url": PG, "read_only": False}
    await run(
        backend,
        {
            **rw,
            "query": f"create table {table} (id serial primary key, label text, at timestamptz "
            "default now(), amount numeric(10,2))",
        },
        {},
    )
    try:
        await run(
            backend,
            {**rw, "query": f"insert into {table} (label, amount) values (:label, :amount)"},
            {"label": "first", "amount": 12.5},
        )
        result = await run(
            backend,
            {
                "url": PG,
                "query": f"select id, label, at, amount from {table} where label = CAST(:label AS text)",
            },
            {"label": "first"},
        )
        row = result.structured_content["rows"][0]
        assert row["label"] == "first" and row["amount"] == 12.5 and "T" in row["at"]
        denied = await run(backend, {"url": PG, "query": f"delete from {table}"}, {})
        assert denied.is_error and "read-only transaction" in denied.content[0].text
        vaulted = {
            "url": PG,
            "password_credential": "pg.password",
            "query": f"select count(*) as n from {table}",
        }
        assert (await run(backend, vaulted, {})).structured_content["rows"] == [{"n": 1}]
    finally:
        await run(backend, {**rw, "query": f"drop table {table}"}, {})


@pytest.mark.anyio
async def test_sql_errors_are_results(backend: DatabaseBackend, sqlite_db: Path) -> None:
    result = await run(backend, {"url": f"sqlite:///{sqlite_db}", "query": "select nope from pets"}, {})
    assert result.is_error and result.content[0].text == "database error: no such column: nope"


def test_check_config() -> None:
    b = DatabaseBackend()
    assert b.check_config({"url": "mysql://x/y", "query": "select 1"}) == [
        "url: unsupported database 'mysql' (sqlite or postgresql)"
    ]
    assert b.check_config({"url": "sqlite:///x.db", "max_rows": 0, "read_only": "yes"}) == [
        "query: required, one SQL statement with :named parameters",
        "max_rows: expected a positive integer",
        "read_only: expected true or false",
    ]
