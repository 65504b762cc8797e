"""/api/security/allowlist: rules CRUD, default action, decision and pattern testers."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from magictunnel.security.api.common import Body, IdPath, Priority, actor, handled, not_found, suite
from magictunnel.security.common import InvalidInput
from magictunnel.web.deps import AdminPrincipal, require_admin

router = APIRouter(prefix="/allowlist", tags=["security: allowlist"])
READ, WRITE = require_admin("security.allowlist.read"), require_admin("security.allowlist.write")


class Rule(Body):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["tool", "resource", "global"] = "tool"
    match_type: Literal["exact", "glob", "regex"] = "exact"
    pattern: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="required for tool and resource rules; global rules match everything",
    )
    action: Literal["allow", "deny"]
    priority: Priority = 0
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description=("parameter name -> {blocked_patterns: [regex...], allowed_values: [...]}"),
    )
    enabled: bool = True
    description: str = ""


class RulePatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: Literal["tool", "resource", "global"] | None = None
    match_type: Literal["exact", "glob", "regex"] | None = None
    pattern: str | None = Field(default=None, min_length=1, max_length=1000)
    action: Literal["allow", "deny"] | None = None
    priority: Priority | None = None
    parameters: dict[str, Any] | None = None
    enabled: bool | None = None
    description: str | None = None


class Settings(Body):
    default_action: Literal["allow", "deny"]


class DecisionTest(Body):
    kind: Literal["tool", "resource"] = "tool"
    name: str = Field(min_length=1, description="tool name or resource URI")
    arguments: dict[str, Any] = Field(default_factory=dict)


class PatternTest(Body):
    match_type: Literal["exact", "glob", "regex"]
    pattern: str
    values: list[str]


@router.get("/rules", summary="List allowlist rules")
@handled
async def list_rules(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    return {"rules": await suite(request).allowlist.list()}


@router.post(
    "/rules", status_code=201, summary="Create a rule (invalid patterns are rejected with the reason)"
)
@handled
async def create_rule(body: Rule, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    sec = suite(request)
    row = await sec.allowlist.create(body.data())
    await sec.audit_change(actor(admin), "allowlist.create", f"rule {row['name']}", row)
    return row


@router.get("/rules/{rule_id}", summary="Get one rule")
@handled
async def get_rule(rule_id: IdPath, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    row = await suite(request).allowlist.get(rule_id)
    if row is None:
        raise not_found(f"allowlist rule {rule_id}")
    return row


@router.put("/rules/{rule_id}", summary="Update a rule (fields not given are kept)")
@handled
async def update_rule(
    rule_id: IdPath, body: RulePatch, request: Request, admin: AdminPrincipal = Depends(WRITE)
) -> Any:
    sec = suite(request)
    row = await sec.allowlist.update(rule_id, body.data())
    await sec.audit_change(actor(admin), "allowlist.update", f"rule {row['name']}", body.data())
    return row


@router.delete("/rules/{rule_id}", summary="Delete a rule")
@handled
async def delete_rule(rule_id: IdPath, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    sec = suite(request)
    await sec.allowlist.delete(rule_id)
    await sec.audit_change(actor(admin), "allowlist.delete", f"rule {rule_id}")
    return {"deleted": rule_id}


@router.get("/settings", summary="Default action when no rule matches")
@handled
async def get_settings(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    return {"default_action": suite(request).allowlist.default_action}


@router.put("/settings", summary="Change the default action")
@handled
async def put_settings(body: Settings, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    sec = suite(request)
    await sec.allowlist.set_default_action(body.default_action)
    await sec.audit_change(actor(admin), "allowlist.settings", "default_action", body.data())
    return {"default_action": sec.allowlist.default_action}


@router.post("/test", summary="The allowlist's decision for a tool call or resource read")
@handled
async def test_decision(body: DecisionTest, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    service = suite(request).allowlist
    if body.kind == "resource":
        return service.check_resource(body.name).to_dict()
    return service.check_tool(body.name, body.arguments).to_dict()


@router.post("/test-pattern", summary="Which values a pattern matches")
@handled
async def test_pattern(body: PatternTest, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    if not body.pattern:
        raise InvalidInput("pattern: must not be empty")
    return suite(request).allowlist.test_pattern(body.match_type, body.pattern, body.values)


@router.get("/statistics", summary="Allowlist statistics")
@handled
async def statistics(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    service = suite(request).allowlist
    return {"statistics": service.get_statistics(), "health": service.get_health()}
