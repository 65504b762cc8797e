"""security: allowlist, RBAC, audit, sanitization and policy tables

Revision ID: security_0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "security_0001"
down_revision = None
branch_labels = ("security",)
depends_on = "core_0001"


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "allowlist_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("match_type", sa.String(20), nullable=False),
        sa.Column("pattern", sa.String(1000), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowlist_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_allowlist_rules_name")),
    )
    op.create_table(
        "rbac_roles",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("inherits", sa.JSON(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rbac_roles")),
    )
    op.create_table(
        "rbac_clients",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("template", sa.String(200), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rbac_clients")),
    )
    op.create_table(
        "rbac_templates",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rbac_templates")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("event_type", sa.String(40), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=True),
        sa.Column("original_client", sa.String(200), nullable=True),
        sa.Column("tool", sa.String(200), nullable=True),
        sa.Column("server", sa.String(200), nullable=True),
        sa.Column("source", sa.String(40), nullable=True),
        sa.Column("transport", sa.String(40), nullable=True),
        sa.Column("remote_addr", sa.String(100), nullable=True),
        sa.Column("stage", sa.String(40), nullable=True),
        sa.Column("rule", sa.String(300), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index(op.f("ix_audit_entries_ts"), "audit_entries", ["ts"])
    op.create_index(op.f("ix_audit_entries_outcome"), "audit_entries", ["outcome"])
    op.create_index(op.f("ix_audit_entries_client_id"), "audit_entries", ["client_id"])
    op.create_index(op.f("ix_audit_entries_tool"), "audit_entries", ["tool"])
    op.create_table(
        "sanitization_policies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tool_pattern", sa.String(500), nullable=False),
        sa.Column("direction", sa.String(10), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanitization_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_sanitization_policies_name")),
    )
    op.create_table(
        "policy_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("effect", sa.String(20), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_policy_rules_name")),
    )


def downgrade() -> None:
    for table in (
        "policy_rules",
        "sanitization_policies",
        "audit_entries",
        "rbac_templates",
        "rbac_clients",
        "rbac_roles",
        "allowlist_rules",
    ):
        op.drop_table(table)
