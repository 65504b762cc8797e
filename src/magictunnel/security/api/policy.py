"""/api/security/policies: policy rules CRUD, evaluation tester, approval requests."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field

from magictunnel.security.api.common import Body, IdPath, Priority, actor, handled, not_found, suite
from magictunnel.web.deps import AdminPrincipal, require_admin

router = APIRouter(prefix="/policies", tags=["security: policies"])
READ, WRITE = require_admin("security.policy.read"), require_admin("security.policy.write")
COND_DOC = (
    "all must hold: tools/servers/clients (globs), roles (any of), sources (mcp|rest|discovery), "
    "source_ips (CIDRs), time_window {days:[mon..sun], start:'HH:MM', end:'HH:MM', timezone}, "
    "arguments [{path:'a.b', op: eq|ne|in|not_in|contains|matches|gt|gte|lt|lte|exists|not_exists, value}]"
)


class Rule(Body):
    name: str = Field(min_length=1, max_length=200)
    effect: Literal["allow", "deny", "require_approval"]
    priority: Priority = 0
    conditions: dict[str, Any] = Field(default_factory=dict, description=COND_DOC)
    message: str = Field(default="", description="shown to the client when the rule denies")
    enabled: bool = True
    description: str = ""


class RulePatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    effect: Literal["allow", "deny", "require_approval"] | None = None
    priority: Priority | None = None
    conditions: dict[str, Any] | None = Field(default=None, description=COND_DOC)
    message: str | None = None
    enabled: bool | None = None
    description: str | None = None


class Test(Body):
    tool: str = Field(min_length=1)
    server: str | None = None
    client_id: str = "anonymous"
    roles: list[str] = Field(default_factory=list)
    arguments: dict[str, Any] = Field(default_factory=dict)
    source: str = "mcp"
    source_ip: str | None = None
    at: str | None = Field(default=None, description="evaluate at this ISO 8601 time (default now)")


class Decide(Body):
    note: str = Field(default="", max_length=2000)


@router.get("/rules", summary="List policy rules (evaluation order: priority desc, then id)")
@handled
async def list_rules(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    rows = await suite(request).policy.list()
    rows.sort(key=lambda r: (-r["priority"], r["id"]))
    return {"rules": rows}


@router.post("/rules", status_code=201, summary="Create a policy rule")
@handled
async def create_rule(body: Rule, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    sec = suite(request)
    row = await sec.policy.create(body.data())
    await sec.audit_change(actor(admin), "policy.create", f"rule {row['name']}", row)
    return row


@router.get("/rules/{rule_id}", summary="Get a policy rule")
@handled
async def get_rule(rule_id: IdPath, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    row = await suite(request).policy.get(rule_id)
    if row is None:
        raise not_found(f"policy rule {rule_id}")
    return row


@router.put("/rules/{rule_id}", summary="Update a policy rule")
@handled
async def update_rule(
    rule_id: IdPath, body: RulePatch, request: Request, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    sec = suite(request)
    row = await sec.policy.update(rule_id, body.data())
    await sec.audit_change(actor(admin), "policy.update", f"rule {row['name']}", body.data())
    return row


@router.delete("/rules/{rule_id}", summary="Delete a policy rule")
@handled
async def delete_rule(rule_id: IdPath, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    sec = suite(request)
    await sec.policy.delete(rule_id)
    await sec.audit_change(actor(admin), "policy.delete", f"rule {rule_id}")
    return {"deleted": rule_id}


@router.post("/test", summary="Evaluate the rules for a hypothetical call (shows every rule's match)")
@handled
async def test(body: Test, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    sec = suite(request)
    from magictunnel.pipeline.context import Identity

    roles = sec.rbac.effective_roles(Identity(client_id=body.client_id, roles=tuple(body.roles)))
    data = body.data() | {"roles": list(roles)}
    return sec.policy.test(data)


@router.get("/approvals", summary="Approval requests of require_approval rules")
@handled
async def approvals(
    request: Request,
    status: Literal["pending", "approved", "denied", "used", "expired"] | None = Query(default=None),
    _: AdminPrincipal = Depends(READ),
) -> Any:
    return {"approvals": await suite(request).policy.list_approvals(status)}


@router.post(
    "/approvals/{approval_id}/approve", summary="Approve a held call (the client may repeat it once)"
)
@handled
async def approve(
    approval_id: str, request: Request, body: Decide | None = None, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    sec = suite(request)
    row = await sec.policy.decide(approval_id, True, actor(admin), body.note if body else "")
    await sec.audit_change(actor(admin), "policy.approve", f"approval {approval_id}", row)
    return row


@router.post("/approvals/{approval_id}/deny", summary="Deny a held call")
@handled
async def deny(
    approval_id: str, request: Request, body: Decide | None = None, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    sec = suite(request)
    row = await sec.policy.decide(approval_id, False, actor(admin), body.note if body else "")
    await sec.audit_change(actor(admin), "policy.deny", f"approval {approval_id}", row)
    return row


@router.get("/statistics", summary="Policy engine statistics")
@handled
async def statistics(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    policy = suite(request).policy
    return {"statistics": policy.get_statistics(), "health": policy.get_health()}
