"""Dashboard navigation and global search, filtered by what the admin's roles allow."""

from __future__ import annotations

from typing import Any

from magictunnel.auth import roles

NAV_ITEMS: tuple[dict[str, str], ...] = (
    {
        "id": "dashboard",
        "label": "Dashboard",
        "path": "/dashboard",
        "operation": "status.read",
        "section": "overview",
    },
    {
        "id": "tools",
        "label": "Tools",
        "path": "/dashboard/tools",
        "operation": "tools.read",
        "section": "catalog",
    },
    {
        "id": "servers",
        "label": "MCP servers",
        "path": "/dashboard/servers",
        "operation": "servers.read",
        "section": "catalog",
    },
    {
        "id": "discovery",
        "label": "Smart discovery",
        "path": "/dashboard/discovery",
        "operation": "discovery.read",
        "section": "catalog",
    },
    {
        "id": "security",
        "label": "Security",
        "path": "/dashboard/security",
        "operation": "security.read",
        "section": "security",
    },
    {
        "id": "audit",
        "label": "Audit log",
        "path": "/dashboard/audit",
        "operation": "audit.read",
        "section": "security",
    },
    {
        "id": "users",
        "label": "Administrators",
        "path": "/dashboard/users",
        "operation": "auth.users.read",
        "section": "access",
    },
    {
        "id": "api-keys",
        "label": "API keys",
        "path": "/dashboard/api-keys",
        "operation": "auth.apikeys.read",
        "section": "access",
    },
    {
        "id": "vault",
        "label": "Vault",
        "path": "/dashboard/vault",
        "operation": "vault.list",
        "section": "access",
    },
    {
        "id": "upstream-oauth",
        "label": "Upstream sign-in",
        "path": "/dashboard/upstream-oauth",
        "operation": "upstream_oauth.read",
        "section": "access",
    },
    {
        "id": "notifications",
        "label": "Notifications",
        "path": "/dashboard/notifications",
        "operation": "notifications.read",
        "section": "overview",
    },
    {
        "id": "config",
        "label": "Configuration",
        "path": "/dashboard/config",
        "operation": "config.read",
        "section": "system",
    },
)


def allowed(
    user_roles: tuple[str, ...] | list[str], operation: str, extra: dict[str, list[str]] | None = None
) -> bool:
    return roles.roles_allow(list(user_roles), operation, extra)


def navigation_items(
    user_roles: tuple[str, ...] | list[str], extra: dict[str, list[str]] | None = None
) -> list[dict[str, str]]:
    return [dict(item) for item in NAV_ITEMS if allowed(user_roles, item["operation"], extra)]


def search_items(
    query: str,
    user_roles: tuple[str, ...] | list[str],
    gateway: Any,
    users: list[str] | None = None,
    limit: int = 50,
    extra: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    q = query.strip().lower()
    results: list[dict[str, Any]] = []

    def add(kind: str, ident: str, label: str, path: str, text: str = "") -> None:
        if not q or q in label.lower() or q in ident.lower() or q in text.lower():
            results.append({"type": kind, "id": ident, "label": label, "path": path})

    for item in navigation_items(user_roles, extra):
        add("page", item["id"], item["label"], item["path"])
    if allowed(user_roles, "tools.read", extra):
        for tool in sorted(gateway.catalog.tools.values(), key=lambda t: t.name):
            add("tool", tool.name, tool.name, f"/dashboard/tools/{tool.name}", tool.description or "")
    if allowed(user_roles, "servers.read", extra):
        for name in sorted(gateway.config.external_mcp.servers):
            add("server", name, name, f"/dashboard/servers/{name}")
    if users is not None and allowed(user_roles, "auth.users.read", extra):
        for name in users:
            add("user", name, name, f"/dashboard/users/{name}")
    return results[:limit]
