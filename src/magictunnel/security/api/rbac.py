"""/api/security/rbac: roles (with inheritance), clients, access templates, permission checks."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from magictunnel.pipeline.context import Identity
from magictunnel.security.api.common import Body, actor, handled, not_found, suite
from magictunnel.web.deps import AdminPrincipal, require_admin

router = APIRouter(prefix="/rbac", tags=["security: rbac"])
READ, WRITE = require_admin("security.rbac.read"), require_admin("security.rbac.write")
PERMS_DOC = (
    "permissions: objects {type: tool|server|resource|prompt, pattern: glob, effect: allow|deny} "
    "or strings 'tool:fs_*' / '!server:prod-*' (leading ! denies)"
)
Permission = str | dict[str, Any]


class Role(Body):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    inherits: list[str] = Field(
        default_factory=list, description="roles whose permissions this role inherits"
    )
    permissions: list[Permission] = Field(default_factory=list, description=PERMS_DOC)


class RolePatch(Body):
    description: str | None = None
    inherits: list[str] | None = None
    permissions: list[Permission] | None = Field(default=None, description=PERMS_DOC)


class Client(Body):
    id: str = Field(min_length=1, max_length=200, description="client id of an API key, or a token subject")
    name: str | None = None
    kind: Literal["agent", "application"] = "agent"
    roles: list[str] = Field(default_factory=list)
    permissions: list[Permission] = Field(default_factory=list, description=PERMS_DOC)
    enabled: bool = True
    description: str = ""


class ClientPatch(Body):
    name: str | None = None
    kind: Literal["agent", "application"] | None = None
    roles: list[str] | None = None
    permissions: list[Permission] | None = Field(default=None, description=PERMS_DOC)
    enabled: bool | None = None
    description: str | None = None


class ClientPermissions(Body):
    roles: list[str] | None = None
    permissions: list[Permission] | None = Field(default=None, description=PERMS_DOC)


class Template(Body):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    roles: list[str] = Field(default_factory=list)
    permissions: list[Permission] = Field(default_factory=list, description=PERMS_DOC)


class TemplatePatch(Body):
    description: str | None = None
    roles: list[str] | None = None
    permissions: list[Permission] | None = Field(default=None, description=PERMS_DOC)


class ApplyTemplate(Body):
    client_id: str = Field(min_length=1, max_length=200)


class Check(Body):
    client_id: str = "anonymous"
    roles: list[str] = Field(default_factory=list, description="roles carried by the credential")
    type: Literal["tool", "resource", "prompt"] = "tool"
    name: str = Field(min_length=1)
    server: str | None = None


async def _audit(
    request: Request, admin: AdminPrincipal, action: str, target: str, details: Any = None
) -> None:
    await suite(request).audit_change(actor(admin), f"rbac.{action}", target, details)


# ---- roles ------------------------------------------------------------------------------
@router.get("/roles", summary="List roles")
@handled
async def list_roles(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    rbac = suite(request).rbac
    return {"roles": [{**r, "effective_roles": list(rbac.expand([r["name"]]))} for r in rbac.roles.values()]}


@router.post("/roles", status_code=201, summary="Create a role")
@handled
async def create_role(body: Role, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    row = await suite(request).rbac.create_role(body.data())
    await _audit(request, admin, "role.create", f"role {row['name']}", row)
    return row


@router.get("/roles/{name}", summary="Get a role")
@handled
async def get_role(name: str, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    rbac = suite(request).rbac
    if name not in rbac.roles:
        raise not_found(f"role {name!r}")
    return {**rbac.roles[name], "effective_roles": list(rbac.expand([name]))}


@router.put("/roles/{name}", summary="Update a role")
@handled
async def update_role(
    name: str, body: RolePatch, request: Request, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    row = await suite(request).rbac.update_role(name, body.data())
    await _audit(request, admin, "role.update", f"role {name}", body.data())
    return row


@router.delete("/roles/{name}", summary="Delete a role (refused while in use)")
@handled
async def delete_role(name: str, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    await suite(request).rbac.delete_role(name)
    await _audit(request, admin, "role.delete", f"role {name}")
    return {"deleted": name}


# ---- clients ----------------------------------------------------------------------------
@router.get("/clients", summary="List MCP clients known to RBAC")
@handled
async def list_clients(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    return {"clients": list(suite(request).rbac.clients.values())}


@router.post("/clients", status_code=201, summary="Register a client (agent or application)")
@handled
async def create_client(body: Client, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    row = await suite(request).rbac.create_client(body.data())
    await _audit(request, admin, "client.create", f"client {row['id']}", row)
    return row


@router.get("/clients/{client_id}", summary="Get a client")
@handled
async def get_client(client_id: str, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    client = suite(request).rbac.clients.get(client_id)
    if client is None:
        raise not_found(f"client {client_id!r}")
    return client


@router.put("/clients/{client_id}", summary="Update a client")
@handled
async def update_client(
    client_id: str, body: ClientPatch, request: Request, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    row = await suite(request).rbac.update_client(client_id, body.data())
    await _audit(request, admin, "client.update", f"client {client_id}", body.data())
    return row


@router.delete("/clients/{client_id}", summary="Remove a client")
@handled
async def delete_client(client_id: str, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    await suite(request).rbac.delete_client(client_id)
    await _audit(request, admin, "client.delete", f"client {client_id}")
    return {"deleted": client_id}


@router.get("/clients/{client_id}/permissions", summary="A client's effective roles and permissions")
@handled
async def get_client_permissions(client_id: str, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    rbac = suite(request).rbac
    if client_id not in rbac.clients:
        raise not_found(f"client {client_id!r}")
    return rbac.client_permissions(client_id)


@router.put("/clients/{client_id}/permissions", summary="Set a client's roles and/or direct permissions")
@handled
async def put_client_permissions(
    client_id: str, body: ClientPermissions, request: Request, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    rbac = suite(request).rbac
    await rbac.set_client_permissions(client_id, body.roles, body.permissions)
    await _audit(request, admin, "client.permissions", f"client {client_id}", body.data())
    return rbac.client_permissions(client_id)


# ---- templates --------------------------------------------------------------------------
@router.get("/templates", summary="List client access templates")
@handled
async def list_templates(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    return {"templates": list(suite(request).rbac.templates.values())}


@router.post("/templates", status_code=201, summary="Create a client access template")
@handled
async def create_template(body: Template, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    row = await suite(request).rbac.create_template(body.data())
    await _audit(request, admin, "template.create", f"template {row['name']}", row)
    return row


@router.get("/templates/{name}", summary="Get a template")
@handled
async def get_template(name: str, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    template = suite(request).rbac.templates.get(name)
    if template is None:
        raise not_found(f"template {name!r}")
    return template


@router.put("/templates/{name}", summary="Update a template")
@handled
async def update_template(
    name: str, body: TemplatePatch, request: Request, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    row = await suite(request).rbac.update_template(name, body.data())
    await _audit(request, admin, "template.update", f"template {name}", body.data())
    return row


@router.delete("/templates/{name}", summary="Delete a template")
@handled
async def delete_template(name: str, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    await suite(request).rbac.delete_template(name)
    await _audit(request, admin, "template.delete", f"template {name}")
    return {"deleted": name}


@router.post("/templates/{name}/apply", summary="Give a client the template's roles and permissions")
@handled
async def apply_template(
    name: str, body: ApplyTemplate, request: Request, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    row = await suite(request).rbac.apply_template(body.client_id, name)
    await _audit(request, admin, "template.apply", f"template {name} -> client {body.client_id}")
    return row


# ---- checks -----------------------------------------------------------------------------
@router.post("/check", summary="Would this client be allowed? (tool, resource or prompt)")
@handled
async def check(body: Check, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    rbac = suite(request).rbac
    identity = Identity(client_id=body.client_id, roles=tuple(body.roles))
    decision = rbac.check(identity, body.type, body.name, body.server)
    return {**decision.to_dict(), "effective_roles": list(rbac.effective_roles(identity))}


@router.get("/statistics", summary="RBAC statistics")
@handled
async def statistics(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    rbac = suite(request).rbac
    return {"statistics": rbac.get_statistics(), "health": rbac.get_health()}
