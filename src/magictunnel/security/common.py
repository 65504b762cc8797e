"""Shared pieces of the security services: validation errors, decisions, pattern matchers."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MATCH_TYPES = ("exact", "glob", "regex")
INT_LIMIT = 1_000_000_000  # priorities and counts: far inside every database's integer range


class InvalidInput(ValueError):
    """Bad input from an administrator: the message says what and where (REST answers 400)."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    stage: str
    rule: str | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "stage": self.stage,
            "rule": self.rule,
            "reason": self.reason,
            **({"details": self.details} if self.details else {}),
        }


def compile_regex(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(f"{where}: invalid regular expression {pattern!r}: {exc}") from None


def glob_regex(pattern: str) -> str:
    return fnmatch.translate(pattern)


def matcher(match_type: str, pattern: str, where: str = "pattern") -> Callable[[str], bool]:
    """A predicate for `exact`, `glob` (fnmatch: * ? [..], case-sensitive) or `regex` (full match)."""
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput(f"{where}: must be a non-empty string")
    if match_type == "exact":
        return pattern.__eq__
    if match_type == "glob":
        return re.compile(glob_regex(pattern)).match  # type: ignore[return-value]
    if match_type == "regex":
        return compile_regex(pattern, where).fullmatch  # type: ignore[return-value]
    raise InvalidInput(f"{where}: match type must be one of {', '.join(MATCH_TYPES)}, not {match_type!r}")


def any_glob(patterns: list[str]) -> Callable[[str], bool]:
    """One compiled predicate for a list of globs."""
    if not patterns:
        return lambda _value: False
    combined = re.compile("|".join(f"(?:{glob_regex(p)})" for p in patterns))
    return lambda value: combined.match(value) is not None


def require_str(
    data: dict[str, Any],
    key: str,
    where: str,
    choices: tuple[str, ...] | None = None,
    default: str | None = None,
) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where}.{key}: required, a non-empty string")
    if choices is not None and value not in choices:
        raise InvalidInput(f"{where}.{key}: must be one of {', '.join(choices)}, not {value!r}")
    return value


def optional_int(data: dict[str, Any], key: str, where: str, default: int = 0) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{where}.{key}: must be an integer")
    if not -INT_LIMIT <= value <= INT_LIMIT:
        raise InvalidInput(f"{where}.{key}: must be between {-INT_LIMIT} and {INT_LIMIT}")
    return value


def optional_bool(data: dict[str, Any], key: str, where: str, default: bool = True) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{where}.{key}: must be true or false")
    return value


def str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{where}: must be a list of non-empty strings")
    return list(value)


def reject_unknown(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidInput(
            f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})"
        )
