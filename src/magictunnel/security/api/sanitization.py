"""/api/security/sanitization: policies CRUD, detectors, and a tester showing what content becomes."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from magictunnel.security import detectors
from magictunnel.security.api.common import Body, IdPath, Priority, actor, handled, not_found, suite
from magictunnel.web.deps import AdminPrincipal, require_admin

router = APIRouter(prefix="/sanitization", tags=["security: sanitization"])
READ, WRITE = require_admin("security.sanitization.read"), require_admin("security.sanitization.write")
CATS_DOC = "categories (secret, pii, all) or detector names"


class Policy(Body):
    name: str = Field(min_length=1, max_length=200)
    tool_pattern: str = Field(default="*", min_length=1, description="glob over tool names")
    direction: Literal["input", "output", "both"] = "both"
    action: Literal["redact", "block", "allow"]
    categories: list[str] = Field(default_factory=lambda: ["secret", "pii"], description=CATS_DOC)
    priority: Priority = 0
    enabled: bool = True
    description: str = ""


class PolicyPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    tool_pattern: str | None = Field(default=None, min_length=1)
    direction: Literal["input", "output", "both"] | None = None
    action: Literal["redact", "block", "allow"] | None = None
    categories: list[str] | None = Field(default=None, description=CATS_DOC)
    priority: Priority | None = None
    enabled: bool | None = None
    description: str | None = None


class Test(Body):
    content: Any = Field(description="text or JSON to sanitize")
    tool: str | None = Field(default=None, description="apply the policy for this tool (default: '*')")
    direction: Literal["input", "output"] = "input"
    categories: list[str] | None = Field(
        default=None, description="ignore policies; redact these: " + CATS_DOC
    )


@router.get("/policies", summary="List sanitization policies")
@handled
async def list_policies(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    return {"policies": await suite(request).sanitization.list()}


@router.post("/policies", status_code=201, summary="Create a policy")
@handled
async def create_policy(body: Policy, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    sec = suite(request)
    row = await sec.sanitization.create(body.data())
    await sec.audit_change(actor(admin), "sanitization.create", f"policy {row['name']}", row)
    return row


@router.get("/policies/{policy_id}", summary="Get a policy")
@handled
async def get_policy(policy_id: IdPath, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    row = await suite(request).sanitization.get(policy_id)
    if row is None:
        raise not_found(f"sanitization policy {policy_id}")
    return row


@router.put("/policies/{policy_id}", summary="Update a policy")
@handled
async def update_policy(
    policy_id: IdPath, body: PolicyPatch, request: Request, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    sec = suite(request)
    row = await sec.sanitization.update(policy_id, body.data())
    await sec.audit_change(actor(admin), "sanitization.update", f"policy {row['name']}", body.data())
    return row


@router.delete("/policies/{policy_id}", summary="Delete a policy")
@handled
async def delete_policy(policy_id: IdPath, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    sec = suite(request)
    await sec.sanitization.delete(policy_id)
    await sec.audit_change(actor(admin), "sanitization.delete", f"policy {policy_id}")
    return {"deleted": policy_id}


@router.get("/detectors", summary="The secret and PII detectors")
@handled
async def list_detectors(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    suite(request)
    return {"detectors": [{"name": d.name, "category": d.category} for d in detectors.DETECTORS]}


@router.post("/test", summary="What the given content would become")
@handled
async def test(body: Test, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    return suite(request).sanitization.test(body.content, body.tool, body.direction, body.categories)


@router.get("/statistics", summary="Sanitization statistics")
@handled
async def statistics(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    service = suite(request).sanitization
    return {"statistics": service.get_statistics(), "health": service.get_health()}
