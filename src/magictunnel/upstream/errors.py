"""One-line descriptions of the failures an upstream connection meets."""

from __future__ import annotations


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        inner = exc.exceptions[0] if exc.exceptions else exc
        return _describe(inner)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
