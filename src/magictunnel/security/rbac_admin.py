"""RBAC administration: create/update/delete roles, clients and templates with integrity checks."""

from __future__ import annotations

from typing import Any

from magictunnel.security.changes import ChangeStamps
from magictunnel.security.common import InvalidInput
from magictunnel.security.rbac_model import (
    parse_permissions,
    validate_client,
    validate_role,
    validate_template,
)
from magictunnel.storage import Storage
from magictunnel.storage.repositories import (
    NotFound,
    RbacClientRepository,
    RbacRoleRepository,
    RbacTemplateRepository,
)


class RbacAdmin:
    roles: dict[str, dict[str, Any]]
    clients: dict[str, dict[str, Any]]
    templates: dict[str, dict[str, Any]]

    def __init__(self, storage: Storage, changes: ChangeStamps) -> None:
        self.role_repo = RbacRoleRepository(storage)
        self.client_repo = RbacClientRepository(storage)
        self.template_repo = RbacTemplateRepository(storage)
        self.changes = changes

    async def reload(self) -> None:  # implemented by RbacService
        raise NotImplementedError

    async def _changed(self) -> None:
        await self.reload()
        await self.changes.bump("rbac")

    def _require_roles(self, names: list[str], where: str, extra: set[str] | None = None) -> None:
        missing = [n for n in names if n not in self.roles and n not in (extra or set())]
        if missing:
            raise InvalidInput(f"{where}: unknown role(s) {', '.join(missing)}")

    def _check_cycle(self, name: str, inherits: list[str]) -> None:
        graph = {k: list(v["inherits"]) for k, v in self.roles.items()}
        graph[name] = inherits
        stack, seen = list(inherits), set()
        while stack:
            current = stack.pop()
            if current == name:
                raise InvalidInput(f"role.inherits: role '{name}' would inherit from itself (cycle)")
            if current in seen:
                continue
            seen.add(current)
            stack.extend(graph.get(current, []))

    # ---- roles ---------------------------------------------------------------------------
    async def create_role(self, data: dict[str, Any]) -> dict[str, Any]:
        role = validate_role(data)
        self._require_roles(role["inherits"], "role.inherits")
        self._check_cycle(role["name"], role["inherits"])
        row = await self.role_repo.create(role)
        await self._changed()
        return row

    async def update_role(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        current = self.roles.get(name) or await self.role_repo.get(name)
        if current is None:
            raise NotFound(f"role {name!r} not found")
        role = validate_role(
            {k: current[k] for k in ("name", "description", "inherits", "permissions")}
            | data
            | {"name": name}
        )
        self._require_roles(role["inherits"], "role.inherits")
        self._check_cycle(name, role["inherits"])
        row = await self.role_repo.update(name, role)
        await self._changed()
        return row

    async def delete_role(self, name: str) -> None:
        users = (
            [f"role {r}" for r, v in self.roles.items() if name in v["inherits"]]
            + [f"client {c}" for c, v in self.clients.items() if name in v["roles"]]
            + [f"template {t}" for t, v in self.templates.items() if name in v["roles"]]
        )
        if users:
            raise InvalidInput(f"role {name!r} is still used by {', '.join(users)}")
        await self.role_repo.delete(name)
        await self._changed()

    # ---- clients -------------------------------------------------------------------------
    async def create_client(self, data: dict[str, Any]) -> dict[str, Any]:
        client = validate_client(data)
        self._require_roles(client["roles"], "client.roles")
        row = await self.client_repo.create(client)
        await self._changed()
        return row

    async def update_client(self, client_id: str, data: dict[str, Any]) -> dict[str, Any]:
        current = self.clients.get(client_id) or await self.client_repo.get(client_id)
        if current is None:
            raise NotFound(f"client {client_id!r} not found")
        keep = ("id", "name", "kind", "roles", "permissions", "template", "enabled", "description")
        client = validate_client({k: current[k] for k in keep} | data | {"id": client_id})
        self._require_roles(client["roles"], "client.roles")
        row = await self.client_repo.update(client_id, client)
        await self._changed()
        return row

    async def set_client_permissions(self, client_id: str, roles: Any, permissions: Any) -> dict[str, Any]:
        update: dict[str, Any] = {}
        if roles is not None:
            update["roles"] = roles
        if permissions is not None:
            update["permissions"] = parse_permissions(permissions, "permissions")
        if not update:
            raise InvalidInput("body: give roles and/or permissions")
        return await self.update_client(client_id, update)

    async def delete_client(self, client_id: str) -> None:
        await self.client_repo.delete(client_id)
        await self._changed()

    # ---- templates -----------------------------------------------------------------------
    async def create_template(self, data: dict[str, Any]) -> dict[str, Any]:
        template = validate_template(data)
        self._require_roles(template["roles"], "template.roles")
        row = await self.template_repo.create(template)
        await self._changed()
        return row

    async def update_template(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        current = self.templates.get(name) or await self.template_repo.get(name)
        if current is None:
            raise NotFound(f"template {name!r} not found")
        template = validate_template(
            {k: current[k] for k in ("name", "description", "roles", "permissions")} | data | {"name": name}
        )
        self._require_roles(template["roles"], "template.roles")
        row = await self.template_repo.update(name, template)
        await self._changed()
        return row

    async def delete_template(self, name: str) -> None:
        await self.template_repo.delete(name)
        await self._changed()

    async def apply_template(self, client_id: str, template_name: str, create: bool = True) -> dict[str, Any]:
        template = self.templates.get(template_name)
        if template is None:
            raise NotFound(f"template {template_name!r} not found")
        values = {
            "roles": list(template["roles"]),
            "permissions": list(template["permissions"]),
            "template": template_name,
        }
        if client_id in self.clients:
            return await self.update_client(client_id, values)
        if not create:
            raise NotFound(f"client {client_id!r} not found")
        return await self.create_client({"id": client_id, **values})
