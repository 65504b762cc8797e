"""RBAC for MCP clients: clients (by API key client id or token subject), roles with
inheritance, permissions on tools/servers/resources/prompts (globs), access templates.

`can_call(identity, tool)` is what tools/list and smart discovery use to show each client
only what it may call (published at `gateway.extensions["rbac"]`).
"""

from __future__ import annotations

from typing import Any

from magictunnel.catalog.models import ToolDef
from magictunnel.config.models import RbacSettings
from magictunnel.pipeline.context import Identity
from magictunnel.security.changes import ChangeStamps
from magictunnel.security.common import Decision, InvalidInput
from magictunnel.security.rbac_admin import RbacAdmin
from magictunnel.security.rbac_model import PermissionSet

STAGE = "rbac"


class RbacService(RbacAdmin):
    def __init__(self, storage: Any, settings: RbacSettings, changes: ChangeStamps) -> None:
        super().__init__(storage, changes)
        self.settings = settings
        self.roles: dict[str, dict[str, Any]] = {}
        self.clients: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self._sets: dict[tuple[str, tuple[str, ...]], PermissionSet] = {}
        self.tool_filter: Any = None  # optional extra visibility check (the allowlist), set by the feature
        self.stats = {"checks": 0, "allowed": 0, "denied": 0}

    async def reload(self) -> None:
        self.roles = {r["name"]: r for r in await self.role_repo.list()}
        self.clients = {c["id"]: c for c in await self.client_repo.list()}
        self.templates = {t["name"]: t for t in await self.template_repo.list()}
        self._sets = {}

    # ---- evaluation ----------------------------------------------------------------------
    def expand(self, roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """Roles plus everything they inherit (cycle-safe, unknown names kept for messages)."""
        seen: list[str] = []
        stack = list(reversed(roles))
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.append(name)
            stack.extend(reversed(self.roles.get(name, {}).get("inherits", [])))
        return tuple(seen)

    def permission_set(self, identity: Identity) -> PermissionSet:
        key = (identity.client_id, tuple(identity.roles))
        hit = self._sets.get(key)
        if hit is not None:
            return hit
        client = self.clients.get(identity.client_id)
        direct = list(identity.roles) + (client["roles"] if client else [])
        roles = self.expand(direct)
        perms = [(p, f"role:{r}") for r in roles for p in self.roles.get(r, {}).get("permissions", [])]
        if client:
            perms += [(p, f"client:{client['id']}") for p in client["permissions"]]
        pset = PermissionSet.build(
            roles,
            perms,
            no_roles=not roles and not (client and client["permissions"]),
            disabled=bool(client) and not client["enabled"],
        )
        if len(self._sets) > 5000:
            self._sets.clear()
        self._sets[key] = pset
        return pset

    def effective_roles(self, identity: Identity) -> tuple[str, ...]:
        return self.permission_set(identity).roles

    def check(self, identity: Identity, target: str, name: str, server: str | None = None) -> Decision:
        self.stats["checks"] += 1
        pset = self.permission_set(identity)
        if pset.disabled:
            self.stats["denied"] += 1
            return Decision(
                False,
                STAGE,
                f"client:{identity.client_id} disabled",
                f"client '{identity.client_id}' is disabled",
            )
        if pset.no_roles:
            allowed = self.settings.default_action == "allow"
            self.stats["allowed" if allowed else "denied"] += 1
            return Decision(
                allowed,
                STAGE,
                "default",
                f"client '{identity.client_id}' has no roles; default action is "
                f"{self.settings.default_action}",
            )
        allowed, rule, reason = pset.verdict(target, name, server)
        self.stats["allowed" if allowed else "denied"] += 1
        return Decision(allowed, STAGE, rule, f"client '{identity.client_id}': {reason}")

    def check_tool(self, identity: Identity, tool: ToolDef) -> Decision:
        return self.check(identity, "tool", tool.name, tool.server)

    def can_call(self, identity: Identity, tool: ToolDef) -> bool:
        """Would this client be allowed to call `tool`? (RBAC, plus the allowlist's
        argument-independent verdict when the allowlist runs.)"""
        pset = self.permission_set(identity)
        if pset.disabled:
            return False
        if pset.no_roles:
            allowed = self.settings.default_action == "allow"
        else:
            allowed = pset.verdict("tool", tool.name, tool.server)[0]
        if allowed and self.tool_filter is not None:
            return bool(self.tool_filter(tool.name))
        return allowed

    def can_read_resource(self, identity: Identity, uri: str, server: str | None = None) -> bool:
        return self.check(identity, "resource", uri, server).allowed

    def can_get_prompt(self, identity: Identity, name: str, server: str | None = None) -> bool:
        return self.check(identity, "prompt", name, server).allowed

    def client_permissions(self, client_id: str) -> dict[str, Any]:
        client = self.clients.get(client_id)
        if client is None:
            raise InvalidInput(f"client {client_id!r} is not registered")
        pset = self.permission_set(Identity(client_id=client_id))
        return {
            "client": client,
            "effective_roles": list(pset.roles),
            "permissions": [
                {"type": t, "effect": e, "pattern": p, "granted_by": o}
                for (t, e), items in pset.sources.items()
                for p, o in items
            ],
        }

    def get_statistics(self) -> dict[str, Any]:
        return {
            **self.stats,
            "roles": len(self.roles),
            "clients": len(self.clients),
            "templates": len(self.templates),
            "cached_permission_sets": len(self._sets),
        }

    def get_health(self) -> dict[str, Any]:
        missing = sorted({r for role in self.roles.values() for r in role["inherits"] if r not in self.roles})
        return {
            "healthy": not missing,
            "roles_loaded": len(self.roles),
            **({"problems": [f"inherited role(s) missing: {', '.join(missing)}"]} if missing else {}),
        }
