"""Policy engine: ordered rules deciding allow / deny / require approval.

Evaluation order: enabled rules by priority (highest first), then by id; the first rule whose
conditions all hold decides. No rule matches: `security.policy.default_effect`.
`require_approval` holds the call: an approval request is stored, the call is denied with its
id, and once an administrator approves it the same client may make the same call (same tool,
same arguments) once, within `security.policy.approval_ttl_seconds`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from typing import Any

from magictunnel.config.models import PolicySettings
from magictunnel.security.changes import ChangeStamps
from magictunnel.security.common import Decision, InvalidInput
from magictunnel.security.policy_model import FIELDS, CompiledRule, Facts, validate_rule
from magictunnel.storage import Storage
from magictunnel.storage.repositories import ApprovalRepository, NotFound, PolicyRepository

STAGE = "policy"


def arguments_hash(arguments: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(arguments, sort_keys=True, default=str).encode()).hexdigest()


class PolicyService:
    def __init__(
        self, storage: Storage, settings: PolicySettings, changes: ChangeStamps, redact: Any = None
    ) -> None:
        self.repo = PolicyRepository(storage)
        self.approvals = ApprovalRepository(storage)
        self.settings = settings
        self.changes = changes
        self.redact = redact or (lambda v: v)
        self._rules: list[CompiledRule] = []
        self.stats = {
            "evaluations": 0,
            "allowed": 0,
            "denied": 0,
            "approval_required": 0,
            "approved_calls": 0,
        }

    async def reload(self) -> None:
        rows = [r for r in await self.repo.list() if r["enabled"]]
        rows.sort(key=lambda r: (-r["priority"], r["id"]))
        self._rules = [CompiledRule(r) for r in rows]

    @property
    def has_rules(self) -> bool:
        return bool(self._rules)

    def evaluate(self, facts: Facts) -> tuple[str, str, str]:
        """(effect, rule name, message) of the first matching rule, or the default."""
        for rule in self._rules:
            if rule.matches(facts):
                return rule.effect, rule.name, rule.row["message"]
        return self.settings.default_effect, "default", ""

    async def check(self, facts: Facts) -> Decision:
        self.stats["evaluations"] += 1
        effect, rule, message = self.evaluate(facts)
        if effect == "allow":
            self.stats["allowed"] += 1
            return Decision(True, STAGE, rule)
        if effect == "deny":
            self.stats["denied"] += 1
            return Decision(
                False,
                STAGE,
                rule,
                message
                or f"policy '{rule}' denies tool '{facts.tool}'"
                + ("" if rule != "default" else " (default effect is deny)"),
            )
        return await self._approval(facts, rule, message)

    async def _approval(self, facts: Facts, rule: str, message: str) -> Decision:
        digest = arguments_hash(facts.arguments)
        now = time.time()
        pending = None
        for req in await self.approvals.find_open(facts.client_id, facts.tool, digest):
            if req["expires_at"] is not None and req["expires_at"] < now:
                await self.approvals.update(req["id"], {"status": "expired"})
                continue
            if req["status"] == "approved" and await self.approvals.consume(req["id"]):
                self.stats["approved_calls"] += 1
                return Decision(
                    True,
                    STAGE,
                    rule,
                    f"approved by {req['decided_by']} (request {req['id']})",
                    {"approval": req["id"]},
                )
            if req["status"] == "pending":
                pending = req
        if pending is None:
            pending = await self.approvals.create(
                {
                    "rule": rule,
                    "client_id": facts.client_id,
                    "tool": facts.tool,
                    "arguments_hash": digest,
                    "arguments": self.redact(facts.arguments),
                    "status": "pending",
                    "expires_at": now + self.settings.approval_ttl_seconds,
                }
            )
        self.stats["approval_required"] += 1
        text = message or f"policy '{rule}' requires approval for tool '{facts.tool}'"
        return Decision(
            False,
            STAGE,
            rule,
            f"{text}; approval request {pending['id']} is pending (an administrator can approve it "
            f"with POST /api/security/policies/approvals/{pending['id']}/approve, then repeat the call)",
            {"approval": pending["id"], "effect": "require_approval"},
        )

    # ---- approvals -----------------------------------------------------------------------
    async def list_approvals(self, status: str | None = None) -> list[dict[str, Any]]:
        if status is not None and status not in ("pending", "approved", "denied", "used", "expired"):
            raise InvalidInput(f"status: unknown approval status {status!r}")
        return await self.approvals.by_status(status)

    async def decide(self, approval_id: str, approve: bool, actor: str, note: str = "") -> dict[str, Any]:
        req = await self.approvals.get(approval_id)
        if req is None:
            raise NotFound(f"approval request {approval_id!r} not found")
        if req["status"] != "pending":
            raise InvalidInput(f"approval request {approval_id} is {req['status']}, not pending")
        return await self.approvals.update(
            approval_id,
            {
                "status": "approved" if approve else "denied",
                "decided_by": actor,
                "decided_at": time.time(),
                "note": note,
                "expires_at": time.time() + self.settings.approval_ttl_seconds,
            },
        )

    # ---- test endpoint -------------------------------------------------------------------
    def test(self, data: dict[str, Any], roles: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("tool"), str) or not data["tool"]:
            raise InvalidInput("tool: required, the tool name to evaluate")
        args = data.get("arguments") or {}
        if not isinstance(args, dict):
            raise InvalidInput("arguments: must be an object")
        at = data.get("at")
        try:
            now = dt.datetime.fromisoformat(at) if at else dt.datetime.now(dt.UTC)
        except (TypeError, ValueError):
            raise InvalidInput(f"at: must be an ISO 8601 time, not {at!r}") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
        facts = Facts(
            tool=data["tool"],
            server=data.get("server"),
            client_id=str(data.get("client_id") or "anonymous"),
            roles=tuple(data.get("roles") or roles),
            arguments=args,
            source=str(data.get("source") or "mcp"),
            remote_addr=data.get("source_ip"),
            now=now,
        )
        trace = [{"rule": r.name, "effect": r.effect, "matches": r.matches(facts)} for r in self._rules]
        effect, rule, message = self.evaluate(facts)
        return {"effect": effect, "rule": rule, "message": message, "evaluated": trace}

    # ---- administration ------------------------------------------------------------------
    async def list(self) -> list[dict[str, Any]]:
        return await self.repo.list()

    async def get(self, rule_id: int) -> dict[str, Any] | None:
        return await self.repo.get(rule_id)

    async def create(self, data: dict[str, Any]) -> dict[str, Any]:
        row = await self.repo.create(validate_rule(data))
        await self._changed()
        return row

    async def update(self, rule_id: int, data: dict[str, Any]) -> dict[str, Any]:
        current = await self.repo.get(rule_id)
        if current is None:
            raise NotFound(f"policy rule {rule_id} not found")
        row = await self.repo.update(
            rule_id, validate_rule({k: v for k, v in current.items() if k in FIELDS} | data)
        )
        await self._changed()
        return row

    async def delete(self, rule_id: int) -> None:
        await self.repo.delete(rule_id)
        await self._changed()

    async def _changed(self) -> None:
        await self.reload()
        await self.changes.bump("policy")

    def get_statistics(self) -> dict[str, Any]:
        return {**self.stats, "rules": len(self._rules)}

    def get_health(self) -> dict[str, Any]:
        return {
            "healthy": True,
            "rules_loaded": len(self._rules),
            "default_effect": self.settings.default_effect,
        }
