"""Alembic environment for MagicTunnel. Runs only through magictunnel.storage.migrate."""

from __future__ import annotations

import importlib
import pkgutil

from alembic import context

import magictunnel.storage.models as models_pkg
from magictunnel.storage.base import Base

# import every model module so autogenerate sees all tables
for info in pkgutil.iter_modules(models_pkg.__path__):
    importlib.import_module(f"{models_pkg.__name__}.{info.name}")

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through magictunnel.storage.migrate.upgrade (needs a connection)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
