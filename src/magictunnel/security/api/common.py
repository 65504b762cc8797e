"""Shared REST plumbing: the running SecuritySuite, error mapping (400/404/409, never 500), actor."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.exc import DBAPIError

from magictunnel.security.common import InvalidInput
from magictunnel.security.suite import SecuritySuite
from magictunnel.storage import StorageError
from magictunnel.storage.repositories import Duplicate, NotFound
from magictunnel.web.deps import AdminPrincipal, get_gateway

log = logging.getLogger("magictunnel.security.api")
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
# numeric ids in paths: bounded so no database integer overflows
IdPath = Annotated[int, Path(ge=0, le=2**31 - 1, description="numeric id")]
Priority = Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000, description="higher runs first")]


def _find_nul(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return where if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _find_nul(k, where) or _find_nul(v, f"{where}.{k}")
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = _find_nul(v, f"{where}[{i}]")
            if found:
                return found
    return None


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        where = _find_nul(data, "body")
        if where:
            raise ValueError(f"{where}: NUL characters are not allowed")
        return data

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


def reject_nul(request: Request) -> None:
    """No NUL characters in path or query values (databases refuse them)."""
    for source, values in (("path", request.path_params.items()), ("query", request.query_params.items())):
        for key, value in values:
            if isinstance(value, str) and "\x00" in value:
                raise HTTPException(
                    status_code=400,
                    detail={"error": f"{source} parameter {key}: NUL characters are not allowed"},
                )


def handled(func: F) -> F:
    """Turn service errors into 400 (bad input), 404 (not found) and 409 (duplicate)."""

    @functools.wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        request = kwargs.get("request")
        if isinstance(request, Request):  # checked after authentication (dependencies run first)
            reject_nul(request)
        try:
            return await func(*args, **kwargs)
        except InvalidInput as exc:
            raise HTTPException(status_code=400, detail={"error": str(exc)}) from None
        except NotFound as exc:
            raise HTTPException(status_code=404, detail={"error": str(exc).strip("'\"")}) from None
        except Duplicate as exc:
            raise HTTPException(status_code=409, detail={"error": str(exc)}) from None
        except (DBAPIError, StorageError, OSError) as exc:  # the database is down or refused the statement
            log.error("security API: database error: %s", exc)
            raise HTTPException(
                status_code=503,
                detail={"error": f"database unavailable or refused the request ({type(exc).__name__})"},
            ) from None

    return wrapper  # type: ignore[return-value]


def actor(admin: AdminPrincipal) -> str:
    return f"admin:{admin.username}"


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail={"error": f"{what} not found"})
