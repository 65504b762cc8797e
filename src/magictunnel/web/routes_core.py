"""Core REST: health, runtime mode and status, the tool list and tool calls.

`/api/tools` and `/api/tools/{name}/call` are client endpoints: they authenticate like the
MCP transports and execute through the same pipeline as `tools/call`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from mcp.shared.exceptions import MCPError

from magictunnel import __version__
from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext, Identity
from magictunnel.server.auth_gate import AuthChallenge, authenticate_headers
from magictunnel.web.deps import get_gateway, require_admin

router = APIRouter()


async def client_identity(request: Request) -> Identity:
    try:
        return await authenticate_headers(get_gateway(request), dict(request.headers))
    except AuthChallenge as challenge:
        raise HTTPException(
            status_code=challenge.status, detail={"error": challenge.message}, headers=challenge.headers
        ) from None


@router.get("/health", tags=["core"])
async def health(gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    failed = [s["name"] for s in gateway.services.report() if s["state"] == "failed" and not s["optional"]]
    return {"status": "degraded" if failed else "ok", "version": __version__, "mode": gateway.mode.value}


@router.get("/api/mode", tags=["core"])
async def mode(gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    return {
        "mode": gateway.mode.value,
        "source": gateway.loaded.sources.get("deployment.runtime_mode", "default"),
    }


@router.get("/api/status", tags=["core"])
async def status(request: Request, gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    """Status for monitoring. Anyone sees states and counts; the details (file paths, error
    messages, conflicting names) only an administrator, as they tell an outsider too much."""
    sessions = request.app.state.sessions
    out = gateway.status()
    out["version"] = __version__
    out["sessions"] = {"connected": sessions.count(), "by_transport": sessions.by_transport()}
    out["router_errors"] = getattr(request.app.state, "router_errors", {})
    if await _is_admin(request):
        out["detail"] = "full"
        return out
    for key in ("capability_problems", "conflicts", "router_errors"):
        out[key] = len(out[key])
    out["services"] = [
        {k: v for k, v in service.items() if k in ("name", "state", "optional")}
        for service in out["services"]
    ]
    if "discovery" in out:  # its error message and the helper's details stay with administrators
        out["discovery"] = {
            k: (v is not None if k == "last_error" else v)
            for k, v in out["discovery"].items()
            if k != "helper"
        }
    out["detail"] = "summary: send admin credentials for problems, conflicts and errors"
    return out


async def _is_admin(request: Request) -> bool:
    try:
        await require_admin("status.read")(request)
    except HTTPException:
        return False
    return True


@router.get("/api/tools", tags=["tools"])
async def list_tools(
    request: Request, include_hidden: bool = False, identity: Identity = Depends(client_identity)
) -> dict[str, Any]:
    gateway = get_gateway(request)
    rbac = gateway.extensions.get("rbac")
    tools = gateway.catalog.list_tools(include_hidden=include_hidden)
    rows = []
    for tool in tools:
        resolved = gateway.resolve_tool(tool.name) or tool
        if rbac is not None and not rbac.can_call(identity, resolved):
            continue
        row = resolved.to_mcp()
        row.update(
            {
                "hidden": resolved.hidden,
                "enabled": resolved.enabled,
                "source": resolved.source,
                "server": resolved.server,
                "routing_type": resolved.routing.type,
            }
        )
        rows.append(row)
    return {"tools": rows, "count": len(rows)}


@router.post("/api/tools/{name}/call", tags=["tools"])
async def call_tool(
    name: str,
    request: Request,
    arguments: dict[str, Any] | None = Body(default=None),
    identity: Identity = Depends(client_identity),
) -> dict[str, Any]:
    gateway = get_gateway(request)
    body_args = arguments or {}
    if set(body_args) == {"arguments"} and isinstance(body_args["arguments"], dict):
        body_args = body_args["arguments"]
    ctx = CallContext(
        identity=identity,
        source="rest",
        transport="rest",
        remote_addr=request.client.host if request.client else None,
    )
    try:
        result = await gateway.call_tool(name, body_args, ctx)
    except MCPError as exc:
        status_code = 404 if "Unknown tool" in exc.error.message else 502
        raise HTTPException(status_code=status_code, detail={"error": exc.error.message}) from None
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)
