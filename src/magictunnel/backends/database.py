"""`database` backend: a parameterised SQL query against SQLite or PostgreSQL.

routing.config:

- `url` (str, required): a database URL: `sqlite:///path/to.db` (relative paths resolve against
  the capability file's directory) or `postgresql://user@host:5432/db`; async drivers
  (aiosqlite, asyncpg) are used whatever driver the URL names. `password_credential` (optional)
  names a vault credential used as the password, so the URL holds no secret.
- `query` (str, required): one SQL statement with named bind parameters (`:name`). The query
  text is never templated or formatted: arguments are only ever bound as parameters.
- `parameters` (mapping bind name -> template, optional): how arguments become bind values
  (`{user_id: "{id}"}`; exactly one placeholder keeps the type). Without it each bind
  parameter takes the argument of the same name (missing -> NULL).
- `max_rows` (int, default 1000): at most this many rows are returned; `truncated` says more existed.
- `read_only` (bool, default true): enforced by the database itself: SQLite connections are
  opened read-only (`mode=ro`, `PRAGMA query_only`), PostgreSQL runs the statement in a
  `READ ONLY` transaction that is rolled back. With `read_only: false` the statement is
  committed and the result reports `rows_affected`.
- `timeout` (seconds, default 30).

The result is `{columns, rows: [{column: value}], row_count, truncated}`; values that are not
JSON (dates, decimals, bytes, UUIDs) become strings. Database errors are `isError` results
with the driver's message (the URL's password is never shown).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import decimal
import uuid
from pathlib import Path
from typing import Any

from mcp_types import CallToolResult
from sqlalchemy import exc as sa_exc
from sqlalchemy import make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from magictunnel.backends.base import BackendError, error_result, json_result
from magictunnel.backends.http_client import resolve_secret
from magictunnel.backends.templating import render_value
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext

DEFAULT_MAX_ROWS = 1000
DEFAULT_TIMEOUT = 30.0


class DatabaseBackend:
    type = "database"

    def __init__(self, vault: Any = None, base_dir: Path | None = None) -> None:
        self.vault = vault
        self.base_dir = base_dir
        self._engines: dict[tuple[Any, ...], AsyncEngine] = {}

    def check_config(self, config: dict[str, Any]) -> list[str]:
        problems = []
        url = config.get("url")
        if not isinstance(url, str) or not url:
            problems.append("url: required, e.g. sqlite:///data.db or postgresql://user@host/db")
        else:
            try:
                backend = make_url(url).get_backend_name()
                if backend not in ("sqlite", "postgresql"):
                    problems.append(f"url: unsupported database {backend!r} (sqlite or postgresql)")
            except sa_exc.ArgumentError:
                problems.append(f"url: not a database URL: {url!r}")
        query = config.get("query")
        if not isinstance(query, str) or not query.strip():
            problems.append("query: required, one SQL statement with :named parameters")
        if "parameters" in config and not isinstance(config["parameters"], dict):
            problems.append("parameters: expected a mapping of bind name to value template")
        rows = config.get("max_rows", DEFAULT_MAX_ROWS)
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
            problems.append("max_rows: expected a positive integer")
        if not isinstance(config.get("read_only", True), bool):
            problems.append("read_only: expected true or false")
        if "password_credential" in config and not isinstance(config["password_credential"], str):
            problems.append("password_credential: expected the name of a vault credential")
        return problems

    async def aclose(self) -> None:
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            try:
                await engine.dispose()
            except RuntimeError:
                pass

    def _base_dir(self, tool: ToolDef) -> Path | None:
        if tool.source.startswith("file:"):
            return Path(tool.source.removeprefix("file:")).parent
        return self.base_dir

    async def _url(self, tool: ToolDef) -> tuple[URL, bool]:
        config = tool.routing.config
        read_only = bool(config.get("read_only", True))
        url = make_url(str(config["url"]))
        backend = url.get_backend_name()
        if backend == "sqlite":
            database = url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                path = Path(database)
                if not path.is_absolute() and self._base_dir(tool) is not None:
                    path = self._base_dir(tool) / path  # type: ignore[operator]
                if read_only and not path.exists():
                    raise BackendError(f"database file not found: {path}")
                database = str(path)
            query = dict(url.query)
            if read_only and database and database != ":memory:":
                database = database if database.startswith("file:") else f"file:{database}"
                query["mode"] = "ro"
                query["uri"] = "true"
            url = url.set(drivername="sqlite+aiosqlite", database=database, query=query)
        elif backend == "postgresql":
            url = url.set(drivername="postgresql+asyncpg")
            if config.get("password_credential"):
                url = url.set(password=await resolve_secret(self.vault, str(config["password_credential"])))
        else:
            raise BackendError(f"unsupported database {backend!r}")
        return url, read_only

    def _engine(self, url: URL) -> AsyncEngine:
        key = (id(asyncio.get_running_loop()), url.render_as_string(hide_password=False))
        engine = self._engines.get(key)
        if engine is None:
            engine = create_async_engine(url, pool_pre_ping=True)
            self._engines[key] = engine
        return engine

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        config = tool.routing.config
        statement = text(str(config["query"]))
        if isinstance(config.get("parameters"), dict):
            binds = render_value(config["parameters"], arguments)
        else:
            binds = {}
        names = set(statement.compile().params)
        for name in names:  # every bind gets a value (NULL when not given)
            binds.setdefault(name, arguments.get(name))
        binds = {k: v for k, v in binds.items() if k in names}
        max_rows = int(config.get("max_rows", DEFAULT_MAX_ROWS))
        url, read_only = await self._url(tool)
        engine = self._engine(url)
        try:
            async with engine.connect() as conn:
                backend = url.get_backend_name()
                if read_only and backend == "sqlite":
                    await conn.exec_driver_sql("PRAGMA query_only = ON")
                if read_only and backend == "postgresql":
                    await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                result = await conn.execute(statement, binds)
                if result.returns_rows:
                    columns = list(result.keys())
                    fetched = result.fetchmany(max_rows + 1)
                    truncated = len(fetched) > max_rows
                    rows = [
                        {c: _jsonable(v) for c, v in zip(columns, row, strict=False)}
                        for row in fetched[:max_rows]
                    ]
                    payload: dict[str, Any] = {
                        "columns": columns,
                        "rows": rows,
                        "row_count": len(rows),
                        "truncated": truncated,
                    }
                else:
                    payload = {"rows_affected": result.rowcount}
                if read_only:
                    await conn.rollback()
                else:
                    await conn.commit()
        except sa_exc.DBAPIError as exc:
            message = str(exc.orig) if exc.orig is not None else str(exc)
            if (
                "readonly" in message.lower()
                or "read-only" in message.lower()
                or "read only" in message.lower()
            ):
                message += " (this tool is read-only; set read_only: false to allow writes)"
            return error_result(f"database error: {message.splitlines()[0]}", error=message)
        except sa_exc.SQLAlchemyError as exc:
            return error_result(f"database error: {type(exc).__name__}: {exc}".splitlines()[0])
        except (OSError, ConnectionError) as exc:
            return error_result(f"cannot connect to the database: {exc}")
        return json_result(payload)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value) if value == value.to_integral_value() or abs(value) < 1e15 else str(value)
    if isinstance(value, datetime.date | datetime.time | datetime.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
