"""REST API of the security services under /api/security (every route requires an admin).

The routers live next to their services in magictunnel/security/api/; this module joins them.
"""

from __future__ import annotations

from fastapi import APIRouter

from magictunnel.security.api import allowlist, audit, policy, rbac, sanitization, status

router = APIRouter(prefix="/api/security")
for _module in (status, allowlist, rbac, audit, sanitization, policy):
    router.include_router(_module.router)
