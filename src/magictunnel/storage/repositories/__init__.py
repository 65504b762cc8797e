"""Repositories: the only code that builds SQL. Services and routers call these."""

from magictunnel.storage.repositories.audit import AuditQuery, AuditRepository
from magictunnel.storage.repositories.base import CrudRepository, Duplicate, NotFound
from magictunnel.storage.repositories.security import (
    AllowlistRepository,
    ApprovalRepository,
    PolicyRepository,
    RbacClientRepository,
    RbacRoleRepository,
    RbacTemplateRepository,
    SanitizationRepository,
)
from magictunnel.storage.repositories.settings import SettingsRepository

__all__ = [
    "AllowlistRepository",
    "ApprovalRepository",
    "AuditQuery",
    "AuditRepository",
    "CrudRepository",
    "Duplicate",
    "NotFound",
    "PolicyRepository",
    "RbacClientRepository",
    "RbacRoleRepository",
    "RbacTemplateRepository",
    "SanitizationRepository",
    "SettingsRepository",
]
