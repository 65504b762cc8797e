"""Repositories of the security domain (rules, roles, clients, templates, policies, approvals)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from magictunnel.storage.base import now
from magictunnel.storage.models.security import (
    AllowlistRule,
    PolicyApproval,
    PolicyRule,
    RbacClient,
    RbacRole,
    RbacTemplate,
    SanitizationPolicy,
)
from magictunnel.storage.repositories.base import CrudRepository, row_to_dict


class AllowlistRepository(CrudRepository[AllowlistRule]):
    model = AllowlistRule
    order_by = ("priority", "id")
    label = "allowlist rule"


class RbacRoleRepository(CrudRepository[RbacRole]):
    model = RbacRole
    order_by = ("name",)
    label = "role"


class RbacClientRepository(CrudRepository[RbacClient]):
    model = RbacClient
    order_by = ("id",)
    label = "client"


class RbacTemplateRepository(CrudRepository[RbacTemplate]):
    model = RbacTemplate
    order_by = ("name",)
    label = "template"


class SanitizationRepository(CrudRepository[SanitizationPolicy]):
    model = SanitizationPolicy
    order_by = ("priority", "id")
    label = "sanitization policy"


class PolicyRepository(CrudRepository[PolicyRule]):
    model = PolicyRule
    order_by = ("priority", "id")
    label = "policy rule"


class ApprovalRepository(CrudRepository[PolicyApproval]):
    model = PolicyApproval
    order_by = ("created_at",)
    label = "approval request"

    async def find_open(self, client_id: str, tool: str, arguments_hash: str) -> list[dict[str, Any]]:
        stmt = (
            select(PolicyApproval)
            .where(
                PolicyApproval.client_id == client_id,
                PolicyApproval.tool == tool,
                PolicyApproval.arguments_hash == arguments_hash,
                PolicyApproval.status.in_(("pending", "approved")),
            )
            .order_by(PolicyApproval.created_at)
        )
        async with self.storage.session() as s:
            return [row_to_dict(r) for r in (await s.scalars(stmt)).all()]

    async def by_status(self, status: str | None, limit: int = 200) -> list[dict[str, Any]]:
        stmt = select(PolicyApproval).order_by(PolicyApproval.created_at.desc()).limit(limit)
        if status:
            stmt = stmt.where(PolicyApproval.status == status)
        async with self.storage.session() as s:
            return [row_to_dict(r) for r in (await s.scalars(stmt)).all()]

    async def consume(self, approval_id: str) -> bool:
        """Mark an approved request used; False when someone else used it first."""
        async with self.storage.session() as s:
            result = await s.execute(
                update(PolicyApproval)
                .where(PolicyApproval.id == approval_id, PolicyApproval.status == "approved")
                .values(status="used", decided_at=now())
            )
            return bool(result.rowcount)
