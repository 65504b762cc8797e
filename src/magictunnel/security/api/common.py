"""Shared REST plumbing: the running SecuritySuite, error mapping (400/404/409, never 500), actor."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from pydantic import BaseModel, ConfigDict

from magictunnel.security.common import InvalidInput
from magictunnel.security.suite import SecuritySuite
from magictunnel.storage.repositories import Duplicate, NotFound
from magictunnel.web.deps import AdminPrincipal, get_gateway

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def data(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


def suite(request: Request) -> SecuritySuite:
    found = get_gateway(request).extensions.get("security")
    if found is None or not found.loaded:
        raise HTTPException(
            status_code=503,
            detail={
                "error": "security services are not running: they run in runtime mode 'advanced' "
                "(deployment.runtime_mode) with security.enabled"
            },
        )
    return found


def handled(func: F) -> F:
    """Turn service errors into 400 (bad input), 404 (not found) and 409 (duplicate)."""

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await func(*args, **kwargs)
        except InvalidInput as exc:
            raise HTTPException(status_code=400, detail={"error": str(exc)}) from None
        except NotFound as exc:
            raise HTTPException(status_code=404, detail={"error": str(exc).strip("'\"")}) from None
        except Duplicate as exc:
            raise HTTPException(status_code=409, detail={"error": str(exc)}) from None

    return wrapper  # type: ignore[return-value]


def actor(admin: AdminPrincipal) -> str:
    return f"admin:{admin.username}"


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail={"error": f"{what} not found"})
