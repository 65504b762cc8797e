"""Notifications for administrators (published as `gateway.extensions["notifications"]`).

Other features call `await notify(title, message, severity=..., category=...)`; security
events reach it through the audit service when that offers `subscribe(listener)`, and
services that fail are noticed by a watcher over the service container.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from magictunnel.auth.store import AuthStore
from magictunnel.storage.models.auth import NotificationRow

log = logging.getLogger("magictunnel.auth.notifications")

SEVERITIES = ("info", "warning", "error", "critical")
# audit categories / event types that become notifications
SECURITY_EVENTS = ("lockdown", "violation", "denied", "server_crash", "crash", "security")


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
        self._task: asyncio.Task[None] | None = None

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

    async def on_audit_event(self, event: Any) -> None:
        """Listener for the audit service: security events become notifications."""
        get = event.get if isinstance(event, dict) else lambda k, d=None: getattr(event, k, d)
        kind = " ".join(
            str(get(k, "") or "") for k in ("event_type", "category", "action", "outcome")
        ).lower()
        if not any(word in kind for word in SECURITY_EVENTS):
            return
        severity = "critical" if "lockdown" in kind else "warning"
        title = str(get("message", "") or get("action", "") or "security event")
        await self.notify(
            title,
            str(get("details", "") or ""),
            severity,
            "security",
            {"event_type": get("event_type"), "client": get("client_id")},
        )

    def attach_audit(self, audit: Any) -> bool:
        subscribe = getattr(audit, "subscribe", None)
        if subscribe is None:
            return False

        def listener(event: Any) -> Any:
            result = self.on_audit_event(event)
            return result if inspect.iscoroutine(result) else None

        try:
            subscribe(listener)
        except Exception as exc:
            log.warning("cannot subscribe to audit events: %s", exc)
            return False
        return True

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

    def start_watching(self, services: Any, interval: float = 5.0) -> None:
        async def loop() -> None:
            while True:
                try:
                    await self.check_services(services)
                except Exception as exc:
                    log.warning("service watcher: %s", exc)
                await asyncio.sleep(interval)

        self._task = asyncio.get_running_loop().create_task(loop(), name="notifications-service-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
