"""Gateway feature: the security pipeline (advanced mode only).

Stages, outermost first (core/gateway.py STAGE_ORDER): audit -> auth -> lockdown -> allowlist
-> rbac -> policy -> sanitize_input -> validation -> [execute] -> sanitize_output. Audit is the
outermost middleware so it sees every outcome, denials included. Publishes
`gateway.extensions["security"]` (the SecuritySuite), `["rbac"]` (`can_call(identity, tool)`),
`["access"]` (prompt/resource access for the MCP handlers) and `["audit"]` (`record_event(...)`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from magictunnel.config.models import RuntimeMode
from magictunnel.core.services import ServiceSpec
from magictunnel.security.access import Access
from magictunnel.security.middleware import (
    AllowlistMiddleware,
    AuditMiddleware,
    LockdownMiddleware,
    PolicyMiddleware,
    RbacMiddleware,
    SanitizeInputMiddleware,
    SanitizeOutputMiddleware,
)
from magictunnel.security.suite import SecuritySuite

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway

ADVANCED = frozenset({RuntimeMode.ADVANCED})


def install(gateway: Gateway) -> None:
    security = gateway.config.security
    if not security.enabled:
        return
    suite = SecuritySuite(gateway.extensions["storage"], security)
    gateway.extensions["security"] = suite
    installed: list[Any] = []

    def add(middleware: Any, stage: str) -> None:
        gateway.add_middleware(middleware, stage)
        installed.append(middleware)

    async def start_audit() -> Any:
        await suite.load()
        await suite.audit.start()
        if security.audit.enabled:
            add(AuditMiddleware(suite.audit), "audit")
        gateway.extensions["audit"] = suite.audit
        return suite.audit

    async def stop_audit() -> None:
        for middleware in installed:
            gateway.remove_middleware(middleware)
        installed.clear()
        await suite.audit.stop()

    def simple(name: str, service: Any, middleware: Any, stage: str) -> ServiceSpec:
        async def start() -> Any:
            add(middleware, stage)
            return service

        return ServiceSpec(f"security.{name}", start, modes=ADVANCED, description=f"security: {name}")

    async def start_rbac() -> Any:
        add(RbacMiddleware(suite.rbac), "rbac")
        gateway.extensions["rbac"] = suite.rbac
        gateway.extensions["access"] = Access(suite)
        return suite.rbac

    async def start_watcher() -> Any:
        suite.changes.start(security.poll_interval)
        return suite.changes

    gateway.services.add(
        ServiceSpec(
            "security.audit",
            start_audit,
            stop_audit,
            modes=ADVANCED,
            description="security: audit log (journal + database)",
        )
    )
    gateway.services.add(simple("lockdown", suite.lockdown, LockdownMiddleware(suite.lockdown), "lockdown"))
    gateway.services.add(
        simple("allowlist", suite.allowlist, AllowlistMiddleware(suite.allowlist), "allowlist")
    )
    gateway.services.add(
        ServiceSpec("security.rbac", start_rbac, modes=ADVANCED, description="security: rbac")
    )
    gateway.services.add(
        simple("policy", suite.policy, PolicyMiddleware(suite.policy, suite.rbac.effective_roles), "policy")
    )
    sanitizing = security.sanitization.enabled
    gateway.services.add(
        ServiceSpec(
            "security.sanitization",
            _both(add, suite, sanitizing),
            modes=ADVANCED,
            description="security: sanitization (input and output)",
        )
    )
    gateway.services.add(
        ServiceSpec(
            "security.changes",
            start_watcher,
            suite.changes.stop,
            modes=ADVANCED,
            description="security: picks up changes made by other processes",
        )
    )


def _both(add: Any, suite: SecuritySuite, enabled: bool) -> Any:
    async def start() -> Any:
        if enabled:
            add(SanitizeInputMiddleware(suite.sanitization), "sanitize_input")
            add(SanitizeOutputMiddleware(suite.sanitization), "sanitize_output")
        return suite.sanitization

    return start
