"""What every generator returns: tool entries for a capability file, plus problems."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

TOOL_NAME_MAX = 64


class SpecError(Exception):
    """A problem in an input spec, with the location it was found at."""

    def __init__(self, location: str, message: str) -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location
        self.message = message


@dataclass
class GenerationResult:
    """Generated tools (capability-file `tools:` entries, legacy shape) and what went wrong.

    `problems` are located errors for parts that were skipped (one bad operation does not stop
    the rest); `warnings` are things generated with a caveat (multipart bodies, cut cycles).
    """

    kind: str
    source: str
    tools: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "tools": len(self.tools),
            "problems": list(self.problems),
            "warnings": list(self.warnings),
            "skipped": list(self.skipped),
        }


_CAMEL_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


def words(text: str) -> list[str]:
    parts: list[str] = []
    for chunk in _NON_WORD.split(text):
        if chunk:
            parts.extend(p for p in _CAMEL_SPLIT.split(chunk) if p)
    return parts


def apply_naming(raw: str, style: str = "snake", prefix: str = "") -> str:
    """A tool name from `raw` in the given style (`snake`, `camel`, or `keep`), with a prefix,
    valid for the catalog (letters, digits, `_`, `.`, `-`; at most 64 characters)."""
    if style == "keep":
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_")
    else:
        parts = [w.lower() for w in words(raw)]
        if style == "camel":
            name = (parts[0] + "".join(p.capitalize() for p in parts[1:])) if parts else ""
        else:
            name = "_".join(parts)
    name = f"{prefix}{name}" if prefix else name
    name = name or "tool"
    if len(name) > TOOL_NAME_MAX:
        import hashlib

        digest = hashlib.sha1(name.encode()).hexdigest()[:6]
        name = f"{name[: TOOL_NAME_MAX - 7]}_{digest}"
    return name


def argument_name(raw: str) -> str:
    """An argument name usable in routing placeholders (`{name}`): word characters only."""
    name = re.sub(r"\W+", "_", raw).strip("_") or "arg"
    if name[0].isdigit():
        name = f"_{name}"
    return name


def unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        taken.add(name)
        return name
    idx = 2
    while True:
        suffix = f"_{idx}"
        candidate = name[: TOOL_NAME_MAX - len(suffix)] + suffix
        if candidate not in taken:
            taken.add(candidate)
            return candidate
        idx += 1
