"""All security services over one storage, for the gateway feature, the REST API and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Any

from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.config.models import SecurityConfig
from magictunnel.pipeline.context import Identity
from magictunnel.security.allowlist import AllowlistService
from magictunnel.security.audit import AuditService
from magictunnel.security.changes import ChangeStamps
from magictunnel.security.common import Decision
from magictunnel.security.lockdown import LockdownService
from magictunnel.security.policy import PolicyService
from magictunnel.security.policy_model import Facts
from magictunnel.security.rbac import RbacService
from magictunnel.security.sanitization import SanitizationService
from magictunnel.storage import Storage


class SecuritySuite:
    def __init__(self, storage: Storage, config: SecurityConfig) -> None:
        self.storage = storage
        self.config = config
        self.changes = ChangeStamps(storage)
        self.sanitization = SanitizationService(storage, config.sanitization, self.changes)
        self.audit = AuditService(storage, config.audit, SanitizationService.redact_all)
        self.lockdown = LockdownService(storage, self.changes, self.audit)
        self.allowlist = AllowlistService(storage, config.allowlist, self.changes)
        self.rbac = RbacService(storage, config.rbac, self.changes)
        self.rbac.tool_filter = self.allowlist.tool_visible
        self.policy = PolicyService(storage, config.policy, self.changes, SanitizationService.redact_all)
        self.loaded = False

    @property
    def services(self) -> dict[str, Any]:
        return {
            "audit": self.audit,
            "lockdown": self.lockdown,
            "allowlist": self.allowlist,
            "rbac": self.rbac,
            "policy": self.policy,
            "sanitization": self.sanitization,
        }

    async def load(self) -> SecuritySuite:
        """Open storage and load every service's persisted state (no background tasks)."""
        await self.storage.start()
        await self.changes.snapshot()
        for name in ("lockdown", "allowlist", "rbac", "policy", "sanitization"):
            service = self.services[name]
            await service.reload()
            self.changes.watch(name, service.reload)
        self.loaded = True
        return self

    async def start(self) -> SecuritySuite:
        """load() plus the audit flusher and the change poller (running gateway)."""
        if not self.loaded:
            await self.load()
        await self.audit.start()
        self.changes.start(self.config.poll_interval)
        return self

    async def stop(self) -> None:
        await self.changes.stop()
        await self.audit.stop()

    async def close(self) -> None:
        """For short-lived users (CLI): flush what was recorded."""
        await self.audit.flush()
        self.audit.journal.close()
        await self.audit.flush()

    async def audit_change(
        self,
        actor: str,
        action: str,
        target: str,
        details: Any = None,
        outcome: str = "success",
        event_type: str = "security_change",
    ) -> None:
        await self.audit.record_event(
            event_type, action, outcome, actor=actor, message=f"{action} {target}", details=details
        )

    # ---- what would happen to a call ------------------------------------------------------
    async def explain(
        self,
        identity: Identity,
        tool: ToolDef,
        arguments: dict[str, Any],
        source: str = "mcp",
        remote_addr: str | None = None,
    ) -> dict[str, Any]:
        """Every stage's verdict for a call, in pipeline order, without executing or recording it."""
        stages: list[Decision] = [
            self.lockdown.check() if self.lockdown.active else Decision(True, "lockdown"),
            self.allowlist.check_tool(tool.name, arguments),
            self.rbac.check_tool(identity, tool),
        ]
        facts = Facts(
            tool=tool.name,
            server=tool.server,
            client_id=identity.client_id,
            roles=self.rbac.effective_roles(identity),
            arguments=arguments,
            source=source,
            remote_addr=remote_addr,
            now=dt.datetime.now(dt.UTC),
        )
        effect, rule, message = self.policy.evaluate(facts)
        stages.append(
            Decision(effect == "allow", "policy", rule, message or f"effect: {effect}", {"effect": effect})
        )
        sanitized = self.sanitization.test(arguments, tool.name, "input")
        stages.append(
            Decision(
                sanitized["action"] != "block",
                "sanitization",
                sanitized["policy"],
                f"input action: {sanitized['action']}",
                {"findings": sanitized["findings"]},
            )
        )
        denied = next((s for s in stages if not s.allowed), None)
        return {
            "tool": tool.name,
            "client_id": identity.client_id,
            "roles": list(facts.roles),
            "allowed": denied is None,
            "denied_by": denied.to_dict() if denied else None,
            "stages": [s.to_dict() for s in stages],
        }

    @staticmethod
    def probe_tool(name: str, server: str | None = None) -> ToolDef:
        """A stand-in for a tool that is not in the catalog (CLI / tests of rules)."""
        return ToolDef(name=name, server=server, routing=Routing(type="probe"))

    async def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"storage": await self.storage.health(), "services": {}}
        for name, service in self.services.items():
            stats = service.get_statistics()
            if hasattr(stats, "__await__"):
                stats = await stats
            out["services"][name] = {"health": service.get_health(), "statistics": stats}
        out["lockdown"] = self.lockdown.status()
        out["healthy"] = (
            out["storage"]["healthy"]
            and all(s["health"].get("healthy", False) for n, s in out["services"].items() if n != "audit")
            and (out["services"]["audit"]["health"]["last_error"] is None)
        )
        return out
