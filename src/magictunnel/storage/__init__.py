"""Persistence: one async SQLAlchemy engine, shared declarative Base, Alembic migrations.

Conventions (details in README.md next to this file):
- Tables derive from `magictunnel.storage.Base`; put ORM models in `storage/models/<domain>.py`.
- Each domain owns an Alembic branch in `storage/migrations/versions/<domain>_NNNN_*.py`.
- SQL lives in repositories (`storage/repositories/`), never in services or routers.
- The running gateway publishes its `Storage` at `gateway.extensions["storage"]`.
"""

from magictunnel.storage.base import Base, new_id, now
from magictunnel.storage.engine import ENV_DATABASE_URL, Storage, StorageError, resolve_database_url

__all__ = ["ENV_DATABASE_URL", "Base", "Storage", "StorageError", "new_id", "now", "resolve_database_url"]
