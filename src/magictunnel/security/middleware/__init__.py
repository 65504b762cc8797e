"""Pipeline middlewares of the security services, one file each (see security/feature.py)."""

from magictunnel.security.middleware.allowlist import AllowlistMiddleware
from magictunnel.security.middleware.audit import AuditMiddleware
from magictunnel.security.middleware.denial import deny
from magictunnel.security.middleware.lockdown import LockdownMiddleware
from magictunnel.security.middleware.policy import PolicyMiddleware
from magictunnel.security.middleware.rbac import RbacMiddleware
from magictunnel.security.middleware.sanitize_input import SanitizeInputMiddleware
from magictunnel.security.middleware.sanitize_output import SanitizeOutputMiddleware

__all__ = [
    "AllowlistMiddleware",
    "AuditMiddleware",
    "LockdownMiddleware",
    "PolicyMiddleware",
    "RbacMiddleware",
    "SanitizeInputMiddleware",
    "SanitizeOutputMiddleware",
    "deny",
]
