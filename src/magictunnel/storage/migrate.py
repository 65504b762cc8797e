"""Alembic, driven programmatically: `upgrade(engine)` brings the database to every head.

Each domain owns an Alembic *branch* (its first revision has `down_revision = None` and
`branch_labels = ("<domain>",)`), so domains add migrations without touching each other's
history. Start-up runs `upgrade heads`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Any = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(MIGRATIONS_DIR / "versions"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def heads() -> list[str]:
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


def _current(sync_conn: Any) -> list[str]:
    return sorted(MigrationContext.configure(sync_conn).get_current_heads())


async def current_revisions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def upgrade(engine: AsyncEngine, target: str = "heads") -> list[str]:
    """Upgrade in place to `target` (default: every branch head); returns the revisions now applied."""

    def run(sync_conn: Any) -> list[str]:
        command.upgrade(alembic_config(sync_conn), target)
        return _current(sync_conn)

    async with engine.begin() as conn:
        return await conn.run_sync(run)
