"""Allowlist: tool, resource and global rules (exact, glob, regex) with parameter rules.

Evaluation for a tool call (resources alike, without arguments):
1. matching rules = enabled `tool` rules whose pattern matches the tool name, plus every
   enabled `global` rule;
2. parameter rules of every matching rule are checked (blocked patterns, allowed values);
   a violation denies, naming the rule;
3. the highest-priority matching rule decides allow/deny (at equal priority deny wins);
4. nothing matched: the default action (`security.allowlist.default_action`, changeable at runtime).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from magictunnel.config.models import AllowlistSettings
from magictunnel.security.changes import ChangeStamps
from magictunnel.security.common import (
    MATCH_TYPES,
    Decision,
    InvalidInput,
    compile_regex,
    matcher,
    optional_bool,
    optional_int,
    reject_unknown,
    require_str,
)
from magictunnel.storage import Storage
from magictunnel.storage.repositories import AllowlistRepository, NotFound, SettingsRepository

KINDS = ("tool", "resource", "global")
ACTIONS = ("allow", "deny")
FIELDS = {
    "name",
    "kind",
    "match_type",
    "pattern",
    "action",
    "priority",
    "parameters",
    "enabled",
    "description",
}
STAGE = "allowlist"
PAST = {"allow": "allowed", "deny": "denied"}


def _validate_parameters(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: must be an object of parameter name -> rules")
    out = {}
    for name, rules in value.items():
        at = f"{where}.{name}"
        if not isinstance(rules, dict):
            raise InvalidInput(f"{at}: must be an object with blocked_patterns and/or allowed_values")
        reject_unknown(rules, {"blocked_patterns", "allowed_values"}, at)
        blocked = rules.get("blocked_patterns", [])
        if not isinstance(blocked, list) or not all(isinstance(p, str) and p for p in blocked):
            raise InvalidInput(f"{at}.blocked_patterns: must be a list of regular expressions")
        for i, p in enumerate(blocked):
            compile_regex(p, f"{at}.blocked_patterns[{i}]")
        allowed = rules.get("allowed_values")
        if allowed is not None and not isinstance(allowed, list):
            raise InvalidInput(f"{at}.allowed_values: must be a list of values")
        out[name] = {
            "blocked_patterns": blocked,
            **({"allowed_values": allowed} if allowed is not None else {}),
        }
    return out


def validate_rule(data: dict[str, Any], where: str = "rule") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: must be an object")
    reject_unknown(data, FIELDS, where)
    kind = require_str(data, "kind", where, KINDS, default="tool")
    match_type = require_str(data, "match_type", where, MATCH_TYPES, default="exact")
    pattern = data.get("pattern", "*" if kind == "global" else None)
    if kind != "global":
        matcher(match_type, pattern, f"{where}.pattern")  # raises with the reason when invalid
    return {
        "name": require_str(data, "name", where),
        "kind": kind,
        "match_type": match_type,
        "pattern": pattern if isinstance(pattern, str) and pattern else "*",
        "action": require_str(data, "action", where, ACTIONS),
        "priority": optional_int(data, "priority", where),
        "parameters": _validate_parameters(data.get("parameters"), f"{where}.parameters"),
        "enabled": optional_bool(data, "enabled", where),
        "description": str(data.get("description") or ""),
    }


@dataclass(frozen=True)
class _Rule:
    id: int
    name: str
    kind: str
    action: str
    priority: int
    match: Callable[[str], Any]
    params: tuple[tuple[str, tuple[re.Pattern[str], ...], list[Any] | None], ...]

    def violation(self, arguments: dict[str, Any]) -> str | None:
        for pname, blocked, allowed in self.params:
            if pname not in arguments:
                continue
            value = arguments[pname]
            if allowed is not None and value not in allowed:
                return f"parameter '{pname}' value {_short(value)} is not one of the allowed values"
            text = value if isinstance(value, str) else _json(value)
            for regex in blocked:
                if regex.search(text):
                    return f"parameter '{pname}' matches blocked pattern {regex.pattern!r}"
        return None


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _short(value: Any) -> str:
    text = _json(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _compile(row: dict[str, Any]) -> _Rule:
    match = (lambda _n: True) if row["kind"] == "global" else matcher(row["match_type"], row["pattern"])
    params = tuple(
        (name, tuple(re.compile(p) for p in spec.get("blocked_patterns", [])), spec.get("allowed_values"))
        for name, spec in (row.get("parameters") or {}).items()
    )
    return _Rule(row["id"], row["name"], row["kind"], row["action"], row["priority"], match, params)


class AllowlistService:
    def __init__(self, storage: Storage, settings: AllowlistSettings, changes: ChangeStamps) -> None:
        self.repo = AllowlistRepository(storage)
        self.settings_repo = SettingsRepository(storage, "security.allowlist")
        self.settings = settings
        self.changes = changes
        self.default_action = settings.default_action
        self._rules: list[_Rule] = []
        self._by_name: dict[tuple[str, str], tuple[_Rule, ...]] = {}
        self.stats = {"checks": 0, "allowed": 0, "denied": 0}

    async def reload(self) -> None:
        rows = [r for r in await self.repo.list() if r["enabled"]]
        rules = [_compile(r) for r in rows]
        rules.sort(key=lambda r: (-r.priority, r.action != "deny", r.id))
        self.default_action = await self.settings_repo.get("default_action", self.settings.default_action)
        self._rules = rules
        self._by_name = {}

    def _matching(self, kind: str, name: str) -> tuple[_Rule, ...]:
        key = (kind, name)
        hit = self._by_name.get(key)
        if hit is None:
            hit = tuple(r for r in self._rules if (r.kind == kind or r.kind == "global") and r.match(name))
            if len(self._by_name) > 20000:
                self._by_name.clear()
            self._by_name[key] = hit
        return hit

    def check(self, kind: str, name: str, arguments: dict[str, Any] | None = None) -> Decision:
        self.stats["checks"] += 1
        rules = self._matching(kind, name)
        if arguments:
            for rule in rules:
                if rule.params:
                    problem = rule.violation(arguments)
                    if problem:
                        self.stats["denied"] += 1
                        return Decision(False, STAGE, rule.name, f"{kind} '{name}': {problem}")
        if rules:
            top = rules[0]
            allowed = top.action == "allow"
            self.stats["allowed" if allowed else "denied"] += 1
            return Decision(
                allowed, STAGE, top.name, f"{kind} '{name}' is {PAST[top.action]} by rule '{top.name}'"
            )
        allowed = self.default_action == "allow"
        self.stats["allowed" if allowed else "denied"] += 1
        return Decision(
            allowed,
            STAGE,
            "default",
            f"no allowlist rule matches {kind} '{name}'; default action is {self.default_action}",
        )

    def check_tool(self, name: str, arguments: dict[str, Any] | None = None) -> Decision:
        return self.check("tool", name, arguments)

    def check_resource(self, uri: str) -> Decision:
        return self.check("resource", uri)

    def tool_visible(self, name: str) -> bool:
        """Argument-independent verdict (for tools/list): ignores parameter rules."""
        rules = self._matching("tool", name)
        return (rules[0].action if rules else self.default_action) == "allow"

    @staticmethod
    def test_pattern(match_type: str, pattern: str, values: list[str]) -> dict[str, Any]:
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidInput("values: must be a list of strings")
        match = matcher(match_type, pattern)
        return {
            "match_type": match_type,
            "pattern": pattern,
            "results": [{"value": v, "matches": bool(match(v))} for v in values],
        }

    # ---- administration ------------------------------------------------------------------
    async def list(self) -> list[dict[str, Any]]:
        return await self.repo.list()

    async def get(self, rule_id: int) -> dict[str, Any] | None:
        return await self.repo.get(rule_id)

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        row = await self.repo.create(validate_rule(data))
        await self._changed()
        return row

    async def create_many(self, items: list[dict[str, Any]]) -> int:
        rows = [validate_rule(d, f"rules[{i}]") for i, d in enumerate(items)]
        count = await self.repo.create_many(rows)
        await self._changed()
        return count

    async def update(self, rule_id: int, data: dict[str, Any]) -> dict[str, Any]:
        current = await self.repo.get(rule_id)
        if current is None:
            raise NotFound(f"allowlist rule {rule_id} not found")
        merged = {k: v for k, v in current.items() if k in FIELDS} | data
        row = await self.repo.update(rule_id, validate_rule(merged))
        await self._changed()
        return row

    async def delete(self, rule_id: int) -> None:
        await self.repo.delete(rule_id)
        await self._changed()

    async def set_default_action(self, action: str) -> None:
        if action not in ACTIONS:
            raise InvalidInput(f"default_action: must be allow or deny, not {action!r}")
        await self.settings_repo.set("default_action", action)
        await self._changed()

    async def _changed(self) -> None:
        await self.reload()
        await self.changes.bump("allowlist")

    def get_statistics(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for r in self._rules:
            kinds[r.kind] = kinds.get(r.kind, 0) + 1
        return {
            **self.stats,
            "rules": len(self._rules),
            "rules_by_kind": kinds,
            "default_action": self.default_action,
        }

    def get_health(self) -> dict[str, Any]:
        return {"healthy": True, "rules_loaded": len(self._rules), "default_action": self.default_action}
