"""Stage `policy`: the first matching policy rule allows, denies or holds the call for approval."""

from __future__ import annotations

import datetime as dt

from magictunnel.pipeline.chain import Next
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.results import ToolResult
from magictunnel.security.middleware.denial import deny
from magictunnel.security.policy import PolicyService
from magictunnel.security.policy_model import Facts


class PolicyMiddleware:
    name = "policy"

    def __init__(self, service: PolicyService, roles_of: object = None) -> None:
        self.service = service
        self.roles_of = roles_of  # callable(identity) -> roles, when RBAC has not run

    async def __call__(self, ctx: CallContext, call: ToolCall, next: Next) -> ToolResult:
        if not self.service.has_rules and self.service.settings.default_effect == "allow":
            return await next(ctx, call)
        roles = ctx.notes.get("roles")
        if roles is None:
            roles = self.roles_of(ctx.identity) if callable(self.roles_of) else tuple(ctx.identity.roles)
        facts = Facts(
            tool=call.tool.name,
            server=call.tool.server,
            client_id=ctx.identity.client_id,
            roles=tuple(roles),
            arguments=call.arguments,
            source=ctx.source,
            remote_addr=ctx.remote_addr,
            now=dt.datetime.now(dt.UTC),
        )
        decision = await self.service.check(facts)
        if not decision.allowed:
            return deny(ctx, decision)
        if decision.details:
            ctx.notes["policy"] = decision.to_dict()
        return await next(ctx, call)
