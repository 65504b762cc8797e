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
        record_event = getattr(audit, "record_event", None)
        if record_event is None:
            return
        try:
            result = record_event(
                "auth",
                action,
                _OUTCOMES.get(outcome, "failure"),
                actor=actor,
                message=f"{action} {outcome}" + (f" ({details['target']})" if "target" in details else ""),
                details=details,
                remote_addr=details.get("ip"),
            )
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # audit must not break login; it reports its own failures
            log.error("audit of auth event %s failed: %s", action, exc)


# our outcomes -> the audit service's vocabulary
_OUTCOMES = {
    "success": "success",
    "failure": "failure",
    "locked": "denied",
    "rate_limited": "denied",
    "denied": "denied",
}
