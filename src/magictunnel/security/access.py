"""Prompt and resource access for MCP handlers: allowlist resource rules + RBAC, denials audited.

Published at `gateway.extensions["access"]` in advanced mode. `visible(...)` filters
prompts/list and resources/list; `denial(...)` returns the message for prompts/get and
resources/read (the handler answers with a JSON-RPC error), or None when allowed.
"""

from __future__ import annotations

from typing import Any

from magictunnel.pipeline.context import Identity
from magictunnel.security.common import Decision
from magictunnel.security.middleware.denial import denial_message


class Access:
    def __init__(self, suite: Any) -> None:
        self.suite = suite

    def decide(self, identity: Identity, kind: str, name: str, server: str | None = None) -> Decision:
        if kind == "resource":
            decision = self.suite.allowlist.check_resource(name)
            if not decision.allowed:
                return decision
        return self.suite.rbac.check(identity, kind, name, server)

    def visible(self, identity: Identity, kind: str, name: str, server: str | None = None) -> bool:
        if kind == "resource" and not self.suite.allowlist.check_resource(name).allowed:
            return False
        pset = self.suite.rbac.permission_set(identity)
        if pset.disabled:
            return False
        if pset.no_roles:
            return self.suite.rbac.settings.default_action == "allow"
        return pset.verdict(kind, name, server)[0]

    def denial(
        self,
        identity: Identity,
        kind: str,
        name: str,
        server: str | None = None,
        transport: str | None = None,
    ) -> str | None:
        decision = self.decide(identity, kind, name, server)
        if decision.allowed:
            return None
        message = denial_message(decision)
        self.suite.audit.record(
            {
                "event_type": "access",
                "action": f"{kind}s/{'read' if kind == 'resource' else 'get'}",
                "outcome": "denied",
                "client_id": identity.client_id,
                "original_client": identity.original_client,
                "tool": None,
                "server": server,
                "transport": transport,
                "stage": decision.stage,
                "rule": decision.rule,
                "message": message,
                "details": {kind: name},
            }
        )
        return message
