"""Administrator roles and the admin operations each may perform.

Admin endpoints name an operation in `require_admin("area.action")` (":" is accepted as a
separator too). A role grants operations by glob. Read operations are those whose last part
is one of READ_ACTIONS. Operations nobody lists (including the default "admin") need
`system-admin`: unknown means closed.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

SYSTEM_ADMIN = "system-admin"
TOOL_MANAGER = "tool-manager"
SECURITY_AUDITOR = "security-auditor"
READ_ONLY_VIEWER = "read-only-viewer"
ADMIN_ROLES = (SYSTEM_ADMIN, TOOL_MANAGER, SECURITY_AUDITOR, READ_ONLY_VIEWER)

READ_ACTIONS = frozenset({"read", "list", "get", "view", "status", "stats", "statistics", "health"})

# operations any signed-in administrator may perform on their own account
SELF_OPERATIONS = ("auth.self", "auth.self.*", "notifications.*", "navigation.read", "search.read")

ROLE_GRANTS: dict[str, tuple[str, ...]] = {
    SYSTEM_ADMIN: ("*",),
    TOOL_MANAGER: (
        "tools.*",
        "tool.*",
        "servers.*",
        "server.*",
        "upstream.*",
        "external_mcp.*",
        "registry.*",
        "capabilities.*",
        "catalog.*",
        "discovery.*",
        "generators.*",
        "prompts.*",
        "resources.*",
        "sampling.*",
        "elicitation.*",
        "config.read",
        "mode.read",
        "status.read",
        "services.read",
        "upstream_oauth.*",
        "vault.read",
        "vault.list",
    ),
    SECURITY_AUDITOR: (
        "security.test.*",
        "security.audit.*",
        "audit.*",
        "security.*.read",
        "security.*.list",
        "auth.users.read",
        "auth.users.list",
        "auth.apikeys.read",
        "auth.apikeys.list",
    ),
    READ_ONLY_VIEWER: (),
}


def normalize(operation: str) -> str:
    return operation.strip().replace(":", ".").lower()


def is_read(operation: str) -> bool:
    return normalize(operation).rsplit(".", 1)[-1] in READ_ACTIONS


def role_allows(role: str, operation: str, extra: dict[str, list[str]] | None = None) -> bool:
    op = normalize(operation)
    if any(fnmatchcase(op, pattern) for pattern in SELF_OPERATIONS):
        return role in ADMIN_ROLES or role in (extra or {})
    if (
        role in ADMIN_ROLES
        and role != SYSTEM_ADMIN
        and is_read(op)
        and not op.startswith(("vault.", "auth."))
    ):
        # every administrator may look; auditors may also read users and key metadata (below)
        return True
    patterns = list(ROLE_GRANTS.get(role, ())) + list((extra or {}).get(role, ()))
    return any(fnmatchcase(op, p) for p in patterns)


def roles_allow(
    roles: tuple[str, ...] | list[str], operation: str, extra: dict[str, list[str]] | None = None
) -> bool:
    return any(role_allows(r, operation, extra) for r in roles)


def check_roles(roles: list[str]) -> str | None:
    unknown = [r for r in roles if r not in ADMIN_ROLES]
    if unknown:
        return f"unknown role(s) {', '.join(unknown)}; expected {', '.join(ADMIN_ROLES)}"
    if not roles:
        return "at least one role is required"
    return None
