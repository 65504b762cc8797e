"""Readable configuration errors: file, key path and what was expected."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


class ConfigError(Exception):
    """A configuration problem a user can fix; the message names file and key path."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _describe_expected(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "expected an integer"
    if kind in ("float_parsing", "float_type"):
        return "expected a number"
    if kind in ("bool_parsing", "bool_type"):
        return "expected true or false"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in ctx.items())
        return f"expected a value {bounds}"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind in ("literal_error", "enum"):
        return f"expected one of {ctx.get('expected', '')}"
    if kind in ("string_type",):
        return "expected a string"
    if kind in ("list_type",):
        return "expected a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "expected a mapping"
    return err.get("msg", "invalid value")


def format_validation_error(source: str, exc: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        path = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "<root>"
        expected = _describe_expected(err)
        if err.get("type") == "extra_forbidden":
            problems.append(f"{source}: {path}: unknown key")
            continue
        got = err.get("input")
        got_repr = _short(got)
        problems.append(f"{source}: {path}: {expected}, got {got_repr}")
    return problems


def _short(value: Any) -> str:
    if isinstance(value, str):
        text = f'"{value}"'
    elif isinstance(value, dict):
        text = "a mapping"
    elif isinstance(value, list):
        text = "a list"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
