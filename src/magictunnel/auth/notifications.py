"""Notifications for administrators (published as `gateway.extensions["notifications"]`).

Other features call `await notify(title, message, severity=..., category=...)`. A watcher
turns the audit service's lockdown events and violations into notifications and notices
services that fail (server crashes).
"""

from __future__ import annotations

import logging
from typing import Any

from magictunnel.auth.store import AuthStore
from magictunnel.core.periodic import Periodic
from magictunnel.storage.models.auth import NotificationRow

log = logging.getLogger("magictunnel.auth.notifications")

SEVERITIES = ("info", "warning", "error", "critical")


def public_notification(row: NotificationRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": row.created_at,
        "severity": row.severity,
        "category": row.category,
        "title": row.title,
        "message": row.message,
        "data": row.data or {},
        "read": row.read_at is not None,
        "read_at": row.read_at,
    }


class Notifications:
    def __init__(self, store: AuthStore) -> None:
        self.store = store
        self._seen_failed: set[str] = set()
        self._task: Periodic | None = None
        self._audit_seen: set[str] | None = None

    async def notify(
        self,
        title: str,
        message: str = "",
        severity: str = "info",
        category: str = "system",
        data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if severity not in SEVERITIES:
            severity = "info"
        row = await self.store.add_notification(severity, category, title[:300], message, data)
        return public_notification(row)

    async def poll_audit(self, audit: Any) -> int:
        """Turn new lockdown events and violations from the audit service into notifications."""
        created = 0
        lockdowns = (await audit.query(audit.build_query({"event_type": "lockdown", "limit": 50})))["entries"]
        violations = await audit.violations(limit=100)
        first = self._audit_seen is None
        seen = self._audit_seen if self._audit_seen is not None else set()
        new_lockdowns = [e for e in lockdowns if e["id"] not in seen]
        new_violations = [e for e in violations if e["id"] not in seen and e.get("event_type") != "lockdown"]
        seen.update(e["id"] for e in lockdowns + violations)
        if len(seen) > 5000:
            seen = {e["id"] for e in lockdowns + violations}
        self._audit_seen = seen
        if first:  # entries from before this start were notified by the previous run
            return 0
        for entry in reversed(new_lockdowns):
            await self.notify(
                entry.get("message") or f"lockdown {entry.get('action')}",
                f"by {entry.get('client_id') or 'unknown'}",
                "critical",
                "lockdown",
                {"audit_id": entry["id"]},
            )
            created += 1
        if new_violations:
            lines = [
                f"{e.get('client_id') or '?'}: {e.get('message') or e.get('action')}"
                for e in new_violations[:5]
            ]
            more = f" (+{len(new_violations) - 5} more)" if len(new_violations) > 5 else ""
            await self.notify(
                f"{len(new_violations)} security violation(s)",
                "\n".join(lines) + more,
                "warning",
                "security",
                {"audit_ids": [e["id"] for e in new_violations[:50]]},
            )
            created += 1
        return created

    async def check_services(self, services: Any) -> None:
        for status in services.status.values():
            failed = getattr(status.state, "value", status.state) == "failed"
            if failed and status.name not in self._seen_failed:
                self._seen_failed.add(status.name)
                await self.notify(
                    f"service {status.name} failed",
                    status.error or "",
                    "error",
                    "service",
                    {"service": status.name},
                )
            elif not failed:
                self._seen_failed.discard(status.name)

    def start_watching(self, services: Any, audit: Any = None, interval: float = 5.0) -> None:
        async def round_() -> None:
            await self.check_services(services)
            current_audit = audit() if callable(audit) else audit
            if current_audit is not None and hasattr(current_audit, "violations"):
                await self.poll_audit(current_audit)

        self._task = Periodic("notifications-service-watcher", interval, round_, run_first=True)
        self._task.start()

    async def stop(self) -> None:
        if self._task is not None:
            await self._task.stop()
            self._task = None
