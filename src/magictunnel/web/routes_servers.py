"""REST management of external MCP servers, without a restart. Every route is admin-only.

- `GET    /api/mcp-servers`                 every server's status (state, PID, era, tools, drift)
- `GET    /api/mcp-servers/health`          ping every server now
- `POST   /api/mcp-servers`                 add: validated, connected, persisted atomically, rolled back
                                            if it cannot start. Body: `{"name": ..., <mcpServers entry>}`
                                            or `{"name": ..., "config": {<entry>}}`
- `POST   /api/mcp-servers/bulk/refresh`    re-list every server (retry failed ones)
- `GET    /api/mcp-servers/{name}`          one server, with its capability version history
- `PUT    /api/mcp-servers/{name}/config`   replace its configuration (old one restored on failure)
- `POST   /api/mcp-servers/{name}/refresh`  re-list its capabilities (retry when failed)
- `DELETE /api/mcp-servers/{name}`          stop it, drop its tools, remove it from the file
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException
from mcp.shared.exceptions import MCPError

from magictunnel.config.errors import ConfigError
from magictunnel.config.loader import substitute_env
from magictunnel.core.gateway import Gateway
from magictunnel.upstream.config import parse_server
from magictunnel.web.deps import get_gateway, require_admin

router = APIRouter(prefix="/api/mcp-servers", tags=["mcp-servers"])


def _manager(gateway: Gateway) -> Any:
    manager = gateway.extensions.get("upstream_manager")
    if manager is None or not manager.settings.enabled:
        raise HTTPException(
            status_code=409,
            detail={"error": "external MCP servers are disabled (external_mcp.enabled is false)"},
        )
    return manager


def _entry(body: dict[str, Any], name: str | None = None) -> tuple[str, dict[str, Any]]:
    if not isinstance(body, dict):
        raise HTTPException(status_code=400, detail={"error": "body: expected a JSON object"})
    data = dict(body)
    body_name = data.pop("name", None)
    if "config" in data and isinstance(data["config"], dict) and len(data) == 1:
        data = dict(data["config"])
    final = name or body_name
    if not isinstance(final, str) or not final:
        raise HTTPException(status_code=400, detail={"error": "name: required, the server's name"})
    if name is not None and body_name not in (None, name):
        raise HTTPException(
            status_code=400,
            detail={
                "error": f"name: {body_name!r} does not match the URL ({name!r}); renaming is remove + add"
            },
        )
    return final, data


def _spec(name: str, entry: dict[str, Any]) -> Any:
    try:
        return parse_server(name, substitute_env(entry, "request", f"servers.{name}"), "request")
    except ConfigError as exc:
        raise HTTPException(
            status_code=400, detail={"error": "invalid server configuration", "problems": exc.problems}
        ) from None


def _not_found(name: str) -> HTTPException:
    return HTTPException(status_code=404, detail={"error": f"no external MCP server named {name!r}"})


@router.get("", dependencies=[Depends(require_admin("servers.read"))])
async def list_servers(gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    return _manager(gateway).status()


@router.get("/health", dependencies=[Depends(require_admin("servers.read"))])
async def servers_health(gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    checks = await _manager(gateway).health()
    return {"healthy": all(c["healthy"] for c in checks.values()), "servers": checks}


@router.post("", status_code=201, dependencies=[Depends(require_admin("servers.write"))])
async def add_server(
    body: dict[str, Any] = Body(...), gateway: Gateway = Depends(get_gateway)
) -> dict[str, Any]:
    manager = _manager(gateway)
    name, entry = _entry(body)
    spec = _spec(name, entry)
    if name in manager.connections:
        raise HTTPException(status_code=409, detail={"error": f"server {name!r} already exists"})
    try:
        return await manager.add_server(spec, entry=entry)
    except ConfigError as exc:
        raise HTTPException(
            status_code=422, detail={"error": "server not added", "problems": exc.problems}
        ) from None


@router.post("/bulk/refresh", dependencies=[Depends(require_admin("servers.write"))])
async def refresh_all(gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    return {"servers": await _manager(gateway).refresh_all()}


@router.get("/{name}", dependencies=[Depends(require_admin("servers.read"))])
async def get_server(name: str, gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    manager = _manager(gateway)
    if name not in manager.connections:
        raise _not_found(name)
    return {
        **manager.server_status(name),
        "history": manager.history(name),
        "config": manager.connections[name].spec.to_entry(),
    }


@router.put("/{name}/config", dependencies=[Depends(require_admin("servers.write"))])
async def update_server(
    name: str, body: dict[str, Any] = Body(...), gateway: Gateway = Depends(get_gateway)
) -> dict[str, Any]:
    manager = _manager(gateway)
    if name not in manager.connections:
        raise _not_found(name)
    name, entry = _entry(body, name)
    spec = _spec(name, entry)
    try:
        return await manager.update_server(spec, entry=entry)
    except ConfigError as exc:
        raise HTTPException(
            status_code=422, detail={"error": "configuration not changed", "problems": exc.problems}
        ) from None


@router.post("/{name}/refresh", dependencies=[Depends(require_admin("servers.write"))])
async def refresh_server(name: str, gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    manager = _manager(gateway)
    if name not in manager.connections:
        raise _not_found(name)
    try:
        return await manager.refresh(name)
    except MCPError as exc:
        raise HTTPException(status_code=502, detail={"error": exc.error.message}) from None


@router.delete("/{name}", dependencies=[Depends(require_admin("servers.write"))])
async def remove_server(name: str, gateway: Gateway = Depends(get_gateway)) -> dict[str, Any]:
    manager = _manager(gateway)
    if name not in manager.connections:
        raise _not_found(name)
    try:
        await manager.remove_server(name)
    except ConfigError as exc:
        raise HTTPException(
            status_code=409, detail={"error": "server not removed", "problems": exc.problems}
        ) from None
    return {"removed": name}
