"""The declarative Base every table in MagicTunnel derives from, and small column helpers.

All domains (security, auth, upstream caches, ...) share this one `Base.metadata`, so one
Alembic environment migrates them all. See `magictunnel/storage/README.md`.
"""

from __future__ import annotations

import time
import uuid

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names keep migrations portable between SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def now() -> float:
    """Timestamps are stored as UTC epoch seconds (float): portable and trivially ordered."""
    return time.time()


def new_id() -> str:
    return uuid.uuid4().hex
