"""Emergency lockdown: one persisted switch that blocks every tool execution.

Toggling takes effect at once in the process that toggles it, and within
`security.poll_interval` (default 0.5 s) in every other gateway using the same database.
Only administrators toggle it (REST requires an admin; the CLI needs database access);
every activation, deactivation and blocked call is audited.
"""

from __future__ import annotations

import time
from typing import Any

from magictunnel.security.changes import ChangeStamps
from magictunnel.security.common import Decision
from magictunnel.storage import Storage
from magictunnel.storage.repositories import SettingsRepository

STAGE = "lockdown"
RULE = "emergency-lockdown"


class LockdownService:
    def __init__(self, storage: Storage, changes: ChangeStamps, audit: Any = None) -> None:
        self.repo = SettingsRepository(storage, "security.lockdown")
        self.changes = changes
        self.audit = audit
        self.active = False
        self.state: dict[str, Any] = {"active": False}
        self.stats = {"blocked": 0, "activations": 0, "deactivations": 0, "blocked_since_activation": 0}

    async def reload(self) -> None:
        state = await self.repo.get("state") or {"active": False}
        was = self.active
        self.state = state
        self.active = bool(state.get("active"))
        if self.active and not was:
            self.stats["blocked_since_activation"] = 0

    def check(self) -> Decision:
        if not self.active:
            return Decision(True, STAGE)
        self.stats["blocked"] += 1
        self.stats["blocked_since_activation"] += 1
        reason = self.state.get("reason") or "no reason given"
        return Decision(
            False,
            STAGE,
            RULE,
            f"emergency lockdown is active since {_iso(self.state.get('since'))} "
            f"(by {self.state.get('by', 'unknown')}: {reason}); all tool "
            "execution is blocked",
        )

    async def set(self, active: bool, actor: str, reason: str = "") -> dict[str, Any]:
        previous = dict(self.state)
        state = {"active": active, "since": time.time(), "by": actor, "reason": reason}
        # in-memory first: calls racing the database write are already blocked
        self.state, self.active = state, active
        if active:
            self.stats["blocked_since_activation"] = 0
        await self.repo.set("state", state)
        await self.changes.bump("lockdown")
        self.stats["activations" if active else "deactivations"] += 1
        if self.audit is not None:
            await self.audit.record_event(
                "lockdown",
                "activate" if active else "deactivate",
                "success",
                actor=actor,
                message=f"emergency lockdown {'activated' if active else 'deactivated'}"
                + (f": {reason}" if reason else ""),
                details={"previous": previous, "current": state},
            )
        return self.status()

    def status(self) -> dict[str, Any]:
        return {
            **self.state,
            "active": self.active,
            "since_iso": _iso(self.state.get("since")),
            "blocked_since_activation": self.stats["blocked_since_activation"],
        }

    def get_statistics(self) -> dict[str, Any]:
        return {**self.stats, "active": self.active}

    def get_health(self) -> dict[str, Any]:
        return {"healthy": True, "active": self.active}


def _iso(ts: Any) -> str | None:
    if not isinstance(ts, int | float):
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
