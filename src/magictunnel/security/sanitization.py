"""Sanitization: find secrets and PII in arguments and results; redact, block or allow per policy."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from magictunnel.config.models import SanitizationSettings
from magictunnel.security import detectors
from magictunnel.security.changes import ChangeStamps
from magictunnel.security.common import (
    InvalidInput,
    glob_regex,
    optional_bool,
    optional_int,
    reject_unknown,
    require_str,
    str_list,
)
from magictunnel.storage import Storage
from magictunnel.storage.repositories import SanitizationRepository

ACTIONS = ("redact", "block", "allow")
DIRECTIONS = ("input", "output", "both")
FIELDS = {"name", "tool_pattern", "direction", "action", "categories", "priority", "enabled", "description"}
ALL = detectors.DETECTORS


def validate_policy(data: dict[str, Any], where: str = "policy") -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: must be an object")
    reject_unknown(data, FIELDS, where)
    categories = str_list(data.get("categories", ["secret", "pii"]), f"{where}.categories")
    bad = [c for c in categories if not detectors.known(c)]
    if bad:
        names = ", ".join([*detectors.CATEGORIES, *detectors.BY_NAME])
        raise InvalidInput(f"{where}.categories: unknown {', '.join(bad)} (known: all, {names})")
    pattern = data.get("tool_pattern", "*")
    if not isinstance(pattern, str) or not pattern:
        raise InvalidInput(f"{where}.tool_pattern: must be a non-empty glob")
    return {
        "name": require_str(data, "name", where),
        "tool_pattern": pattern,
        "direction": require_str(data, "direction", where, DIRECTIONS, default="both"),
        "action": require_str(data, "action", where, ACTIONS),
        "categories": categories or ["secret", "pii"],
        "priority": optional_int(data, "priority", where),
        "enabled": optional_bool(data, "enabled", where),
        "description": str(data.get("description") or ""),
    }


@dataclass(frozen=True)
class Resolved:
    action: str
    policy: str
    detectors: tuple[detectors.Detector, ...]


@dataclass
class Outcome:
    action: str  # what happened: "clean" | "redacted" | "blocked" | "allowed"
    policy: str
    value: Any
    findings: list[detectors.Finding] = field(default_factory=list)

    def summary(self) -> str:
        kinds = sorted({f.detector for f in self.findings})
        return ", ".join(kinds)


class SanitizationService:
    def __init__(self, storage: Storage, settings: SanitizationSettings, changes: ChangeStamps) -> None:
        self.repo = SanitizationRepository(storage)
        self.settings = settings
        self.changes = changes
        self._policies: list[tuple[re.Pattern[str], dict[str, Any]]] = []
        self._resolved: dict[tuple[str, str], Resolved] = {}
        self.stats = {"scanned": 0, "redacted": 0, "blocked": 0, "findings": 0}
        self.by_detector: dict[str, int] = {}

    async def reload(self) -> None:
        rows = [r for r in await self.repo.list() if r["enabled"]]
        rows.sort(key=lambda r: (-r["priority"], r["id"]))
        self._policies = [(re.compile(glob_regex(r["tool_pattern"])), r) for r in rows]
        self._resolved = {}

    # ---- policy resolution ---------------------------------------------------------------
    def resolve(self, tool: str, direction: str) -> Resolved:
        key = (tool, direction)
        hit = self._resolved.get(key)
        if hit is not None:
            return hit
        resolved = None
        for regex, row in self._policies:
            if row["direction"] in (direction, "both") and regex.match(tool):
                resolved = Resolved(row["action"], row["name"], detectors.select(row["categories"]))
                break
        if resolved is None:
            action = self.settings.input_action if direction == "input" else self.settings.output_action
            resolved = Resolved(action, f"default-{direction}", detectors.select(self.settings.categories))
        if len(self._resolved) > 10000:
            self._resolved.clear()
        self._resolved[key] = resolved
        return resolved

    def process(self, tool: str, direction: str, value: Any) -> Outcome:
        resolved = self.resolve(tool, direction)
        if not self.settings.enabled or resolved.action == "allow" or not resolved.detectors:
            return Outcome("allowed" if resolved.action == "allow" else "clean", resolved.policy, value)
        self.stats["scanned"] += 1
        new_value, findings = detectors.scan_value(
            value, resolved.detectors, redact=resolved.action == "redact"
        )
        if not findings:
            return Outcome("clean", resolved.policy, value)
        self.stats["findings"] += len(findings)
        for f in findings:
            self.by_detector[f.detector] = self.by_detector.get(f.detector, 0) + 1
        if resolved.action == "block":
            self.stats["blocked"] += 1
            return Outcome("blocked", resolved.policy, value, findings)
        self.stats["redacted"] += 1
        return Outcome("redacted", resolved.policy, new_value, findings)

    @staticmethod
    def redact_all(value: Any) -> Any:
        """Every detector, redacting: what the audit log stores."""
        return detectors.scan_value(value, ALL, redact=True)[0]

    def test(
        self,
        content: Any,
        tool: str | None = None,
        direction: str = "input",
        categories: list[str] | None = None,
    ) -> dict[str, Any]:
        """What `content` would become: by the policy for (tool, direction), or by explicit categories."""
        if direction not in ("input", "output"):
            raise InvalidInput(f"direction: must be input or output, not {direction!r}")
        if categories is not None:
            bad = [c for c in categories if not detectors.known(c)]
            if bad:
                raise InvalidInput(f"categories: unknown {', '.join(bad)}")
            chosen = detectors.select(categories)
            new_value, findings = detectors.scan_value(content, chosen, redact=True)
            return {
                "policy": None,
                "action": "redact",
                "result": new_value,
                "findings": [f.to_dict() for f in findings],
            }
        resolved = self.resolve(tool or "*", direction)
        new_value, findings = detectors.scan_value(
            content, resolved.detectors, redact=resolved.action == "redact"
        )
        action = resolved.action if findings else "clean"
        if resolved.action == "allow":
            action = "allow"
        return {
            "policy": resolved.policy,
            "action": action,
            "result": None if action == "block" else (new_value if resolved.action == "redact" else content),
            "findings": [f.to_dict() for f in findings],
        }

    # ---- administration ------------------------------------------------------------------
    async def list(self) -> list[dict[str, Any]]:
        return await self.repo.list()

    async def get(self, policy_id: int) -> dict[str, Any] | None:
        return await self.repo.get(policy_id)

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        row = await self.repo.create(validate_policy(data))
        await self._changed()
        return row

    async def update(self, policy_id: int, data: dict[str, Any]) -> dict[str, Any]:
        current = await self.repo.get(policy_id)
        if current is None:
            from magictunnel.storage.repositories import NotFound

            raise NotFound(f"sanitization policy {policy_id} not found")
        merged = {k: v for k, v in current.items() if k in FIELDS} | data
        row = await self.repo.update(policy_id, validate_policy(merged))
        await self._changed()
        return row

    async def delete(self, policy_id: int) -> None:
        await self.repo.delete(policy_id)
        await self._changed()

    async def _changed(self) -> None:
        await self.reload()
        await self.changes.bump("sanitization")

    def get_statistics(self) -> dict[str, Any]:
        return {
            **self.stats,
            "policies": len(self._policies),
            "by_detector": dict(self.by_detector),
            "detectors": [d.name for d in ALL],
        }

    def get_health(self) -> dict[str, Any]:
        return {"healthy": True, "enabled": self.settings.enabled, "policies_loaded": len(self._policies)}
