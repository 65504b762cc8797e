"""Parameter substitution into strings: `{param}`, `{{param}}`, `{list[0]}`, `{obj.key}`.

Used for argv entries, URLs, headers and bodies. Substitution never goes through a
shell: each argv entry stays one argument whatever the value contains. `${NAME}`
(environment-variable syntax) is not a placeholder and is left as it is.
"""

from __future__ import annotations

import json
import re
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.\[\]]*)\s*\}\}|(?<!\$)\{([A-Za-z_][\w.\[\]]*)\}")
_STEP = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]|\.")

_MISSING = object()


def lookup(arguments: dict[str, Any], path: str) -> Any:
    """Resolve `a.b[0].c` in the arguments; returns _MISSING when absent."""
    value: Any = arguments
    pos = 0
    first = True
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            return _MISSING
        pos = m.end()
        if m.group(0) == ".":
            continue
        if m.group(1) is not None:
            if not isinstance(value, dict) or m.group(1) not in value:
                return _MISSING
            value = value[m.group(1)]
        else:
            idx = int(m.group(2))
            if not isinstance(value, list) or idx >= len(value):
                return _MISSING
            value = value[idx]
        first = False
    return _MISSING if first else value


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def placeholders(template: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in _PLACEHOLDER.finditer(template)]


def render(template: str, arguments: dict[str, Any], quote: Any = None) -> str:
    """Substitute every placeholder; a missing parameter becomes an empty string."""

    def repl(match: re.Match[str]) -> str:
        value = lookup(arguments, match.group(1) or match.group(2))
        text = "" if value is _MISSING else to_text(value)
        return quote(text) if quote else text

    return _PLACEHOLDER.sub(repl, template)


def render_value(template: Any, arguments: dict[str, Any]) -> Any:
    """Render a JSON-like tree. A string that is exactly one placeholder keeps the value's type."""
    if isinstance(template, str):
        m = _PLACEHOLDER.fullmatch(template.strip())
        if m:
            value = lookup(arguments, m.group(1) or m.group(2))
            return None if value is _MISSING else value
        return render(template, arguments)
    if isinstance(template, dict):
        out = {}
        for key, inner in template.items():
            rendered = render_value(inner, arguments)
            if rendered is not None:
                out[key] = rendered
        return out
    if isinstance(template, list):
        return [render_value(v, arguments) for v in template]
    return template


def render_argv(args: list[Any], arguments: dict[str, Any]) -> list[str]:
    """Render argv entries. An entry that is only a placeholder for a missing (optional)
    parameter is dropped; a list value for such an entry expands to several arguments."""
    argv: list[str] = []
    for entry in args:
        if not isinstance(entry, str):
            argv.append(to_text(entry))
            continue
        m = _PLACEHOLDER.fullmatch(entry.strip())
        if m:
            value = lookup(arguments, m.group(1) or m.group(2))
            if value is _MISSING or value is None:
                continue
            if isinstance(value, list):
                argv.extend(to_text(v) for v in value)
                continue
            argv.append(to_text(value))
            continue
        argv.append(render(entry, arguments))
    return argv
