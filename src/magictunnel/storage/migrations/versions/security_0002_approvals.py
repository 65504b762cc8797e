"""security: approval requests for `require_approval` policies; audit index by event type

Revision ID: security_0002
Revises: security_0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "security_0002"
down_revision = "security_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_approvals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=False),
        sa.Column("tool", sa.String(200), nullable=False),
        sa.Column("arguments_hash", sa.String(64), nullable=False),
        sa.Column("arguments", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.Column("expires_at", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_approvals")),
    )
    op.create_index(op.f("ix_policy_approvals_created_at"), "policy_approvals", ["created_at"])
    op.create_index(op.f("ix_policy_approvals_arguments_hash"), "policy_approvals", ["arguments_hash"])
    op.create_index("ix_audit_entries_event_type_ts", "audit_entries", ["event_type", "ts"])


def downgrade() -> None:
    op.drop_index("ix_audit_entries_event_type_ts", table_name="audit_entries")
    op.drop_table("policy_approvals")
