"""/api/security/audit: query, search, violations, export (JSON Lines, CSV), retention."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import Field

from magictunnel.security.api.common import Body, actor, handled, not_found, suite
from magictunnel.security.audit import EVENT_TYPES, OUTCOMES
from magictunnel.web.deps import AdminPrincipal, require_admin

router = APIRouter(prefix="/audit", tags=["security: audit"])
READ, WRITE = require_admin("security.audit.read"), require_admin("security.audit.write")


class Retention(Body):
    days: float | None = Field(default=None, gt=0, le=1_000_000, description="delete entries older than this")
    max_entries: int | None = Field(
        default=None, ge=1, le=1_000_000_000, description="keep at most this many, newest first"
    )


def _filters(
    event_type: str | None,
    outcome: str | None,
    client_id: str | None,
    tool: str | None,
    since: str | None,
    until: str | None,
    text: str | None,
    limit: int,
    offset: int,
    violations_only: bool = False,
) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "outcome": outcome,
        "client_id": client_id,
        "tool": tool,
        "since": since,
        "until": until,
        "text": text,
        "limit": limit,
        "offset": offset,
        "violations_only": violations_only,
    }


TYPE_DOC = f"one of {', '.join(EVENT_TYPES)}"
OUTCOME_DOC = f"one of {', '.join(OUTCOMES)}"
TIME_DOC = "epoch seconds or ISO 8601"


@router.get("/entries", summary="Query audit entries (newest first)")
@handled
async def entries(
    request: Request,
    event_type: str | None = Query(default=None, description=TYPE_DOC),
    outcome: str | None = Query(default=None, description=OUTCOME_DOC),
    client_id: str | None = None,
    tool: str | None = None,
    since: str | None = Query(default=None, description=TIME_DOC),
    until: str | None = Query(default=None, description=TIME_DOC),
    text: str | None = Query(default=None, description="substring search"),
    limit: int = Query(default=100, ge=1, le=10000),
    offset: int = Query(default=0, ge=0),
    _: AdminPrincipal = Depends(READ),
) -> Any:
    audit = suite(request).audit
    q = audit.build_query(_filters(event_type, outcome, client_id, tool, since, until, text, limit, offset))
    return await audit.query(q)


@router.get("/entries/{entry_id}", summary="One audit entry")
@handled
async def entry(entry_id: str, request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    audit = suite(request).audit
    await audit.flush()
    row = await audit.repo.get(entry_id)
    if row is None:
        raise not_found(f"audit entry {entry_id!r}")
    return row


@router.get("/search", summary="Full-text search over message, tool, client, rule and arguments")
@handled
async def search(
    request: Request,
    q: str = Query(min_length=1),
    limit: int = Query(default=100, ge=1, le=10000),
    _: AdminPrincipal = Depends(READ),
) -> Any:
    return {"entries": await suite(request).audit.search(q, limit)}


@router.get("/violations", summary="Denied and blocked calls")
@handled
async def violations(
    request: Request,
    since: str | None = Query(default=None, description=TIME_DOC),
    limit: int = Query(default=100, ge=1, le=10000),
    _: AdminPrincipal = Depends(READ),
) -> Any:
    audit = suite(request).audit
    q = audit.build_query(_filters(None, None, None, None, since, None, None, limit, 0, violations_only=True))
    return await audit.query(q)


@router.get("/export", summary="Export entries as JSON Lines or CSV (oldest first)")
@handled
async def export(
    request: Request,
    format: Literal["jsonl", "csv"] = "jsonl",
    event_type: str | None = Query(default=None, description=TYPE_DOC),
    outcome: str | None = Query(default=None, description=OUTCOME_DOC),
    client_id: str | None = None,
    tool: str | None = None,
    since: str | None = Query(default=None, description=TIME_DOC),
    until: str | None = Query(default=None, description=TIME_DOC),
    _: AdminPrincipal = Depends(READ),
) -> Any:
    audit = suite(request).audit
    q = audit.build_query(_filters(event_type, outcome, client_id, tool, since, until, None, 100, 0))
    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(
        audit.export(q, format),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="magictunnel-audit.{format}"'},
    )


@router.post("/retention", summary="Apply retention now (configured values unless given)")
@handled
async def retention(body: Retention, request: Request, admin: AdminPrincipal = Depends(WRITE)) -> Any:
    sec = suite(request)
    result = await sec.audit.apply_retention(body.days, body.max_entries)
    await sec.audit_change(actor(admin), "audit.retention", "audit log", {**body.data(), **result})
    return result


@router.get("/statistics", summary="Audit statistics")
@handled
async def statistics(request: Request, _: AdminPrincipal = Depends(READ)) -> Any:
    audit = suite(request).audit
    return {"statistics": await audit.get_statistics(), "health": audit.get_health()}
