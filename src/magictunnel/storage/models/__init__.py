"""ORM models, one module per domain. Every module here is imported by the Alembic environment."""
