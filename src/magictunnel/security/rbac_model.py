"""RBAC data rules: permission syntax, validation and the compiled permission set of one client."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from magictunnel.security.common import InvalidInput, glob_regex, reject_unknown, str_list

TARGETS = ("tool", "server", "resource", "prompt")
EFFECTS = ("allow", "deny")


def parse_permission(value: Any, where: str) -> dict[str, str]:
    """`{"type": "tool", "pattern": "fs_*", "effect": "allow"}` or the short form `"tool:fs_*"` /
    `"!server:prod-*"` (a leading `!` denies)."""
    if isinstance(value, str):
        effect = "deny" if value.startswith("!") else "allow"
        target, sep, pattern = value.lstrip("!").partition(":")
        if not sep:
            raise InvalidInput(
                f"{where}: {value!r} must look like <type>:<glob>, e.g. tool:fs_* or !server:prod"
            )
        value = {"type": target, "pattern": pattern, "effect": effect}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: a permission is an object or a '<type>:<glob>' string")
    reject_unknown(value, {"type", "pattern", "effect"}, where)
    target = value.get("type")
    if target not in TARGETS:
        raise InvalidInput(f"{where}.type: must be one of {', '.join(TARGETS)}, not {target!r}")
    pattern = value.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput(f"{where}.pattern: must be a non-empty glob")
    effect = value.get("effect", "allow")
    if effect not in EFFECTS:
        raise InvalidInput(f"{where}.effect: must be allow or deny, not {effect!r}")
    return {"type": target, "pattern": pattern, "effect": effect}


def parse_permissions(value: Any, where: str) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: must be a list of permissions")
    return [parse_permission(p, f"{where}[{i}]") for i, p in enumerate(value)]


def validate_role(data: dict[str, Any], where: str = "role") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: must be an object")
    reject_unknown(data, {"name", "description", "inherits", "permissions"}, where)
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.:@-]{1,200}", name):
        raise InvalidInput(f"{where}.name: 1-200 characters of letters, digits and _ . : @ -")
    return {
        "name": name,
        "description": str(data.get("description") or ""),
        "inherits": str_list(data.get("inherits"), f"{where}.inherits"),
        "permissions": parse_permissions(data.get("permissions"), f"{where}.permissions"),
    }


def validate_client(data: dict[str, Any], where: str = "client") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: must be an object")
    reject_unknown(
        data, {"id", "name", "kind", "roles", "permissions", "template", "enabled", "description"}, where
    )
    cid = data.get("id")
    if not isinstance(cid, str) or not cid or len(cid) > 200:
        raise InvalidInput(
            f"{where}.id: required, the client id (API key client or token subject), 1-200 chars"
        )
    kind = data.get("kind", "agent")
    if kind not in ("agent", "application"):
        raise InvalidInput(f"{where}.kind: must be agent or application, not {kind!r}")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidInput(f"{where}.enabled: must be true or false")
    return {
        "id": cid,
        "name": str(data.get("name") or cid),
        "kind": kind,
        "roles": str_list(data.get("roles"), f"{where}.roles"),
        "permissions": parse_permissions(data.get("permissions"), f"{where}.permissions"),
        "template": data.get("template"),
        "enabled": enabled,
        "description": str(data.get("description") or ""),
    }


def validate_template(data: dict[str, Any], where: str = "template") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: must be an object")
    reject_unknown(data, {"name", "description", "roles", "permissions"}, where)
    name = data.get("name")
    if not isinstance(name, str) or not name or len(name) > 200:
        raise InvalidInput(f"{where}.name: required, 1-200 characters")
    return {
        "name": name,
        "description": str(data.get("description") or ""),
        "roles": str_list(data.get("roles"), f"{where}.roles"),
        "permissions": parse_permissions(data.get("permissions"), f"{where}.permissions"),
    }


@functools.lru_cache(maxsize=8192)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(glob_regex(pattern))


def _combine(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    unique = list(dict.fromkeys(patterns))
    return re.compile("|".join(f"(?:{glob_regex(p)})" for p in unique))


@dataclass
class PermissionSet:
    """Everything one (client, roles) pair may do, compiled; verdicts cached per name."""

    roles: tuple[str, ...]
    # (type, effect) -> combined regex, and the permissions that formed it (for messages)
    regex: dict[tuple[str, str], re.Pattern[str] | None]
    sources: dict[tuple[str, str], list[tuple[str, str]]]  # -> [(pattern, granted by)]
    no_roles: bool = False
    disabled: bool = False
    cache: dict[tuple[str, str, str | None], tuple[bool, str, str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        roles: tuple[str, ...],
        perms: list[tuple[dict[str, str], str]],
        no_roles: bool = False,
        disabled: bool = False,
    ) -> PermissionSet:
        sources: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for perm, origin in perms:
            sources.setdefault((perm["type"], perm["effect"]), []).append((perm["pattern"], origin))
        regex = {key: _combine([p for p, _ in items]) for key, items in sources.items()}
        return cls(roles, regex, sources, no_roles, disabled)

    def _matches(self, target: str, effect: str, name: str) -> str | None:
        """The rule (e.g. "role:dev allow tool:fs_*") that grants/denies `name`, if any."""
        regex = self.regex.get((target, effect))
        if regex is None or regex.match(name) is None:
            return None
        for pattern, origin in self.sources[(target, effect)]:
            if _glob(pattern).match(name):
                return f"{origin} {effect} {target}:{pattern}"
        return None

    def verdict(self, target: str, name: str, server: str | None = None) -> tuple[bool, str, str]:
        """(allowed, rule, reason) for a tool/resource/prompt, optionally on an upstream server.
        Deny permissions win over allow permissions; no matching permission denies."""
        key = (target, name, server)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        checks = [(target, name)] + ([("server", server)] if server else [])
        result: tuple[bool, str, str] | None = None
        for effect in ("deny", "allow"):
            for checked_target, checked in checks:
                rule = self._matches(checked_target, effect, checked)
                if rule:
                    result = (
                        effect == "allow",
                        rule,
                        f"{target} '{name}' is {'allowed' if effect == 'allow' else 'denied'} by {rule}",
                    )
                    break
            if result:
                break
        if result is None:
            where = f" on server '{server}'" if server else ""
            result = (
                False,
                "no-permission",
                f"roles [{', '.join(self.roles)}] grant no permission for {target} '{name}'{where}",
            )
        if len(self.cache) > 20000:
            self.cache.clear()
        self.cache[key] = result
        return result
