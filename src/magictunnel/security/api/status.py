"""/api/security/status, /api/security/test and the emergency lockdown switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from magictunnel.pipeline.context import Identity
from magictunnel.security.api.common import Body, actor, handled, suite
from magictunnel.security.common import InvalidInput
from magictunnel.web.deps import AdminPrincipal, get_gateway, require_admin

router = APIRouter(tags=["security"])


class LockdownBody(Body):
    reason: str = Field(default="", max_length=2000, description="why (kept in the audit log)")


class CallTest(Body):
    tool: str = Field(min_length=1, description="tool name (from the catalog, or any name to test rules)")
    arguments: dict[str, Any] = Field(default_factory=dict)
    client_id: str = "anonymous"
    roles: list[str] = Field(default_factory=list, description="roles the credential carries")
    source: str = "mcp"
    source_ip: str | None = None
    server: str | None = Field(
        default=None, description="upstream server, when the tool is not in the catalog"
    )


@router.get("/status", summary="Statistics and health of every security service")
@handled
async def status(request: Request, _: AdminPrincipal = Depends(require_admin("security.status.read"))) -> Any:
    return await suite(request).status()


@router.post("/test", summary="What each pipeline stage would decide for a call (nothing is executed)")
@handled
async def test_call(
    body: CallTest, request: Request, _: AdminPrincipal = Depends(require_admin("security.test.read"))
) -> Any:
    sec = suite(request)
    tool = get_gateway(request).resolve_tool(body.tool) or sec.probe_tool(body.tool, body.server)
    identity = Identity(client_id=body.client_id, roles=tuple(body.roles))
    if body.source_ip is not None:
        import ipaddress

        try:
            ipaddress.ip_address(body.source_ip)
        except ValueError:
            raise InvalidInput(f"source_ip: not an IP address: {body.source_ip!r}") from None
    return await sec.explain(identity, tool, body.arguments, body.source, body.source_ip)


@router.get("/lockdown", summary="Emergency lockdown status")
@handled
async def lockdown_status(
    request: Request, _: AdminPrincipal = Depends(require_admin("security.lockdown.read"))
) -> Any:
    return suite(request).lockdown.status()


@router.post("/lockdown/activate", summary="Block every tool execution now")
@handled
async def lockdown_on(
    request: Request,
    body: LockdownBody | None = None,
    admin: AdminPrincipal = Depends(require_admin("security.lockdown.write")),
) -> Any:
    return await suite(request).lockdown.set(True, actor(admin), body.reason if body else "")


@router.post("/lockdown/deactivate", summary="Allow tool execution again")
@handled
async def lockdown_off(
    request: Request,
    body: LockdownBody | None = None,
    admin: AdminPrincipal = Depends(require_admin("security.lockdown.write")),
) -> Any:
    return await suite(request).lockdown.set(False, actor(admin), body.reason if body else "")
