"""Security domain tables: allowlist, RBAC, audit, sanitization, policies and approvals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from magictunnel.storage.base import Base, new_id, now


class _Stamped:
    created_at: Mapped[float] = mapped_column(Float, default=now)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)


class AllowlistRule(_Stamped, Base):
    __tablename__ = "allowlist_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # tool | resource | global
    match_type: Mapped[str] = mapped_column(String(20), default="exact")  # exact | glob | regex
    pattern: Mapped[str] = mapped_column(String(1000), default="*")
    action: Mapped[str] = mapped_column(String(10))  # allow | deny
    priority: Mapped[int] = mapped_column(Integer, default=0)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")


class RbacRole(_Stamped, Base):
    __tablename__ = "rbac_roles"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    inherits: Mapped[list[str]] = mapped_column(JSON, default=list)
    permissions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class RbacClient(_Stamped, Base):
    __tablename__ = "rbac_clients"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # the identity's client_id
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(20), default="agent")  # agent | application
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    permissions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    template: Mapped[str | None] = mapped_column(String(200), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")


class RbacTemplate(_Stamped, Base):
    __tablename__ = "rbac_templates"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    permissions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_event_type_ts", "event_type", "ts"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    ts: Mapped[float] = mapped_column(Float, default=now, index=True)
    event_type: Mapped[str] = mapped_column(
        String(40)
    )  # tool_call | auth | config_change | security_change | lockdown
    action: Mapped[str] = mapped_column(String(100), default="")
    outcome: Mapped[str] = mapped_column(String(20), index=True)  # success | error | denied | failure
    client_id: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    original_client: Mapped[str | None] = mapped_column(String(200), nullable=True)
    tool: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    server: Mapped[str | None] = mapped_column(String(200), nullable=True)
    source: Mapped[str | None] = mapped_column(String(40), nullable=True)
    transport: Mapped[str | None] = mapped_column(String(40), nullable=True)
    remote_addr: Mapped[str | None] = mapped_column(String(100), nullable=True)
    stage: Mapped[str | None] = mapped_column(String(40), nullable=True)
    rule: Mapped[str | None] = mapped_column(String(300), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    arguments: Mapped[Any] = mapped_column(JSON, nullable=True)
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
    details: Mapped[Any] = mapped_column(JSON, nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)


class SanitizationPolicy(_Stamped, Base):
    __tablename__ = "sanitization_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tool_pattern: Mapped[str] = mapped_column(String(500), default="*")
    direction: Mapped[str] = mapped_column(String(10), default="both")  # input | output | both
    action: Mapped[str] = mapped_column(String(10))  # redact | block | allow
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)  # secret, pii or detector names
    priority: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")


class PolicyRule(_Stamped, Base):
    __tablename__ = "policy_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    effect: Mapped[str] = mapped_column(String(20))  # allow | deny | require_approval
    priority: Mapped[int] = mapped_column(Integer, default=0)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")


class PolicyApproval(Base):
    """A call held by a `require_approval` policy until an administrator decides (revision 0002)."""

    __tablename__ = "policy_approvals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    created_at: Mapped[float] = mapped_column(Float, default=now, index=True)
    rule: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(200))
    tool: Mapped[str] = mapped_column(String(200))
    arguments_hash: Mapped[str] = mapped_column(String(64), index=True)
    arguments: Mapped[Any] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|approved|denied|used|expired
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    expires_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
