"""Readable configuration errors: file, key path and what was expected."""

from __future__ import annotations

import types
import typing
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo


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


_NUMERIC_ERRORS = {
    "int_parsing",
    "int_type",
    "int_from_float",
    "float_parsing",
    "float_type",
    "greater_than_equal",
    "less_than_equal",
    "greater_than",
    "less_than",
}


def _model_for(exc: ValidationError) -> type[BaseModel] | None:
    from magictunnel.config import models

    found = getattr(models, exc.title, None)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Optional[X] / X | None -> X."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _field_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> FieldInfo | None:
    """The pydantic field a validation error's location points at, through nested models,
    dicts and lists."""
    annotation: Any = model
    info: FieldInfo | None = None
    for part in loc:
        annotation = _unwrap(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(part))
            if info is None:
                return None
            annotation = info.annotation
        elif origin is dict:
            annotation = typing.get_args(annotation)[1]
            info = None
        elif origin is list:
            annotation = typing.get_args(annotation)[0]
            info = None
        else:
            return None
    return info


def _bounded_number(info: FieldInfo) -> str | None:
    """`an integer 1-65535`, `a number > 0`, ... from the field's type and constraints."""
    kind = _unwrap(info.annotation)
    if kind is int:
        noun = "an integer"
    elif kind is float:
        noun = "a number"
    else:
        return None
    low = high = None
    low_op = high_op = ""
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            low, low_op = item.ge, ">="
        elif isinstance(item, annotated_types.Gt):
            low, low_op = item.gt, ">"
        elif isinstance(item, annotated_types.Le):
            high, high_op = item.le, "<="
        elif isinstance(item, annotated_types.Lt):
            high, high_op = item.lt, "<"
    if low is not None and high is not None and low_op == ">=" and high_op == "<=":
        return f"{noun} {low:g}-{high:g}"
    parts = [f"{op} {value:g}" for op, value in ((low_op, low), (high_op, high)) if value is not None]
    return f"{noun} {' and '.join(parts)}" if parts else noun


def format_validation_error(
    source: str, exc: ValidationError, prefix: str = "", model: type[BaseModel] | None = None
) -> list[str]:
    problems = []
    model = model or _model_for(exc)
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        path = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "<root>"
        expected = _describe_expected(err)
        if err.get("type") in _NUMERIC_ERRORS:
            info = _field_at(model, tuple(err.get("loc", ())))
            described = _bounded_number(info) if info is not None else None
            if described:
                expected = f"expected {described}"
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
