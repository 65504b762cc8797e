"""Shared by the `websocket` and `sse` backends: filters and stop conditions over a stream
of messages, each a string that may be JSON.

A condition (`filter` keeps matching messages; `until` stops collecting after one matches):

- a string: a regular expression searched in the raw text;
- a mapping: `{regex: "..."}`, or `{path: "type", equals: "done"}` / `{path: ..., in: [...]}` /
  `{path: ...}` (the JSON value at the dotted path exists), evaluated on the parsed JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from magictunnel.backends.templating import _MISSING, lookup

_MISSING_KEYS = ("regex", "path")


def check_condition(cond: Any, where: str) -> list[str]:
    if cond is None:
        return []
    if isinstance(cond, str):
        try:
            re.compile(cond)
        except re.error as exc:
            return [f"{where}: invalid regular expression: {exc}"]
        return []
    if isinstance(cond, dict) and any(k in cond for k in _MISSING_KEYS):
        if "regex" in cond:
            return check_condition(str(cond["regex"]), where)
        return [] if isinstance(cond.get("path"), str) else [f"{where}.path: expected a dotted path"]
    return [f"{where}: expected a regular expression or {{path, equals}} / {{regex}}"]


def parse(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text


def matches(cond: Any, raw: str, value: Any) -> bool:
    if cond is None:
        return True
    if isinstance(cond, str):
        return re.search(cond, raw) is not None
    if "regex" in cond:
        return re.search(str(cond["regex"]), raw) is not None
    if not isinstance(value, dict | list):
        return False
    found = lookup(value if isinstance(value, dict) else {"_": value}, str(cond["path"]))
    if found is _MISSING:
        return False
    if "equals" in cond:
        return found == cond["equals"]
    if "in" in cond and isinstance(cond["in"], list):
        return found in cond["in"]
    return True
