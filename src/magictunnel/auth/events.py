"""Auth events to the audit service (when installed) and the log, never with secrets."""

from __future__ import annotations

import inspect
import logging
from typing import Any

log = logging.getLogger("magictunnel.auth")


class AuthEvents:
    def __init__(self, gateway: Any = None) -> None:
        self.gateway = gateway

    async def emit(self, action: str, actor: str | None, outcome: str = "success", **details: Any) -> None:
        log.info("auth event %s actor=%s outcome=%s", action, actor, outcome)
        audit = self.gateway.extensions.get("audit") if self.gateway is not None else None
        if audit is None:
            return
        for name in ("record_event", "record_auth_event", "record"):
            method = getattr(audit, name, None)
            if method is None:
                continue
            try:
                result = method(
                    category="authentication", action=action, actor=actor, outcome=outcome, details=details
                )
                if inspect.isawaitable(result):
                    await result
            except TypeError:
                continue
            except Exception as exc:  # audit must not break login; it reports its own failures
                log.error("audit of auth event %s failed: %s", action, exc)
            return
