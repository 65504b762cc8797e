"""The backend behind the built-in discovery tools: smart_tool_discovery, search_tools, call_tool.

Every tool it runs goes through `gateway.call_tool(name, args, ctx.child("discovery"))`, i.e. the
same pipeline (auth, RBAC, policy, validation, audit) as a direct tools/call.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent

from magictunnel.backends.base import error_result
from magictunnel.catalog.models import ToolDef
from magictunnel.discovery.elicit import ask_for_missing, merge_reply
from magictunnel.discovery.index import Hit
from magictunnel.discovery.input_required import (
    InputRounds,
    can_ask_modern,
    pending_input,
    the_reply,
    without_input,
)
from magictunnel.discovery.params import Mapping, map_parameters
from magictunnel.discovery.service import ROUTING_TYPE, TOOL_NAMES, DiscoveryService
from magictunnel.pipeline.context import CallContext

if TYPE_CHECKING:
    from magictunnel.discovery.llm import LlmAdvisor

log = logging.getLogger("magictunnel.discovery")

ACTIONS = ("discover", "search", "call")
# how much confidence a preferred tool may trail the best one by and still be chosen
# A preferred tool's odds against the best tool are multiplied by this (a prior of e^2), and it is
# taken when that clears the threshold: confidences below the best one are softmax odds against
# it, so a plausible runner-up can win and a poor fit cannot.
PREFERENCE_ODDS = 7.39
_STEP_SPLIT = re.compile(
    r"\s*(?:;|；|\band then\b|\bthen\b|\bafter that\b|\bafterwards\b|然后|接着|之后)\s*", re.IGNORECASE
)


@dataclass
class _Options:
    """What one smart_tool_discovery call asked for, as far as finishing it needs."""

    request: str
    steps: list[str]
    sequential: bool
    details: bool
    binding: str  # ties an input_required round's requestState to this call

    @property
    def step(self) -> str:
        return self.steps[0] if self.steps else self.request


def split_steps(request: str) -> list[str]:
    return [s.strip(" ,.") for s in _STEP_SPLIT.split(request) if s and s.strip(" ,.")]


def candidate(hit: Hit, with_schema: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": hit.doc.key,
        "description": hit.doc.description[:300],
        "confidence": round(hit.confidence, 3),
    }
    if hit.doc.server:
        out["server"] = hit.doc.server
    if with_schema:
        out["input_schema"] = hit.doc.input_schema
    return out


def _dump_result(result: CallToolResult) -> dict[str, Any]:
    return result.model_dump(by_alias=True, exclude_none=True, mode="json")


def _reply(payload: dict[str, Any], is_error: bool = False, lead: list[Any] | None = None) -> CallToolResult:
    text = json.dumps(payload, ensure_ascii=False, indent=2)
    content: list[Any] = [*(lead or []), TextContent(text=text)]
    return CallToolResult(content=content, structured_content=payload, is_error=is_error)


class DiscoveryBackend:
    type = ROUTING_TYPE

    def __init__(self, service: DiscoveryService, advisor: LlmAdvisor | None = None) -> None:
        self.service = service
        self.advisor = advisor
        self.rounds = InputRounds()

    def check_config(self, config: dict[str, Any]) -> list[str]:
        action = config.get("action")
        return [] if action in ACTIONS else [f"action: must be one of {', '.join(ACTIONS)}"]

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        action = tool.routing.config.get("action")
        await self.service.ready()
        if action == "search":
            return await self._search(arguments, ctx)
        if action == "call":
            return await self._call(arguments, ctx)
        if action == "discover":
            return await self._discover(tool, arguments, ctx)
        return error_result(f"{tool.name}: routing.config.action: must be one of {', '.join(ACTIONS)}")

    # ---- search_tools --------------------------------------------------------------------
    async def _search(self, args: dict[str, Any], ctx: CallContext) -> CallToolResult:
        query = str(args.get("query", "")).strip()
        if not query:
            return error_result("query: must not be empty")
        limit = int(args.get("limit", 10))
        with_schemas = bool(args.get("include_schemas", True))
        hits = await self.service.search_async(query, ctx.identity, top_k=limit)
        return _reply({"query": query, "tools": [candidate(h, with_schemas) for h in hits]})

    # ---- call_tool -----------------------------------------------------------------------
    async def _call(self, args: dict[str, Any], ctx: CallContext) -> CallToolResult:
        name = str(args.get("name", ""))
        arguments = args.get("arguments") or {}
        if not isinstance(arguments, dict):
            return error_result("arguments: must be an object")
        tool = self.service.gateway.resolve_tool(name)
        if (
            tool is None
            or name in TOOL_NAMES
            or not tool.enabled
            or not self.service.can_call(ctx.identity, tool)
        ):
            return error_result(f"Unknown tool: {name}")
        return await self._run(name, arguments, ctx)

    async def _run(self, name: str, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        try:
            return await self.service.gateway.call_tool(name, arguments, ctx.child("discovery"))
        except MCPError as exc:
            return error_result(f"{name}: {exc}")

    # ---- smart_tool_discovery ------------------------------------------------------------
    async def _discover(self, tool: ToolDef, args: dict[str, Any], ctx: CallContext) -> CallToolResult:
        cfg = self.service.config
        request = str(args.get("request", "")).strip()
        if not request:
            return error_result("request: must not be empty")
        sequential = bool(args.get("sequential_mode", False))
        opts = _Options(
            request=request,
            steps=split_steps(request) if sequential else [request],
            sequential=sequential,
            details=bool(args.get("include_error_details", False)),
            binding=InputRounds.binding(tool.name, args, ctx),
        )
        pending = pending_input(ctx)
        if pending is not None:  # a 2026-07-28 retry answering our input_required round
            return await self._resume(opts, pending, ctx)
        context = args.get("context") if isinstance(args.get("context"), str) else None
        threshold = float(args.get("confidence_threshold", cfg.default_confidence_threshold))
        preferred = {p for p in args.get("preferred_tools") or [] if isinstance(p, str)}
        hits = await self.service.search_async(opts.step, ctx.identity, top_k=max(cfg.max_candidates, 10))
        if not hits:
            return _reply(
                {
                    "status": "no_tools",
                    "request": request,
                    "message": "No tools are available to this client.",
                }
            )
        chosen = self._choose(hits, preferred, threshold)
        reasoning = chosen.reasoning() if chosen else ""
        mapping: Mapping | None = None
        if self.advisor is not None:
            advice = await self.advisor.advise(opts.step, context, hits[: cfg.max_candidates], ctx)
            if advice is not None:
                chosen, reasoning = advice.hit, advice.reasoning
                if chosen is not None and advice.arguments is not None:
                    mapping = map_parameters(
                        opts.step, chosen.doc.input_schema, context, given=advice.arguments
                    )
        alternatives = [
            candidate(h, with_schema=False) for h in hits[: cfg.max_candidates] if h is not chosen
        ]
        if chosen is None:
            return _reply(
                {
                    "status": "below_threshold",
                    "request": request,
                    "threshold": threshold,
                    "reasoning": reasoning or f"best confidence {hits[0].confidence:.2f}",
                    "message": f"No tool reached confidence {threshold:.2f}; nothing was run. "
                    "Pick one of the candidates and use call_tool, or rephrase the request.",
                    "candidates": [candidate(h) for h in hits[: cfg.max_candidates]],
                }
            )
        if mapping is None:
            mapping = map_parameters(opts.step, chosen.doc.input_schema, context)
        meta: dict[str, Any] = {
            "tool": chosen.doc.key,
            "confidence": round(chosen.confidence, 3),
            "reasoning": reasoning,
            "alternatives": alternatives,
        }
        if mapping.missing or mapping.invalid:
            enabled = self.service.gateway.config.elicitation.enabled
            if enabled and can_ask_modern(ctx):  # 2026-07-28: ask with an input_required round
                return self.rounds.ask(opts.binding, chosen.doc, mapping, meta)
            answered = await ask_for_missing(chosen.doc, mapping, ctx, enabled=enabled)
            mapping = answered or mapping
        return await self._finish(opts, chosen.doc.key, chosen.doc.input_schema, mapping, meta, ctx, hits)

    async def _resume(self, opts: _Options, pending: tuple[Any, Any], ctx: CallContext) -> CallToolResult:
        """Merge the client's answer into what was decided when it was asked, then go on as before."""
        state, responses = pending
        decided = self.rounds.verify(state, opts.binding)
        reply = the_reply(responses)
        self.rounds.spend(decided)  # one answer per question: a replayed retry is refused
        tool = self.service.gateway.resolve_tool(decided.tool)
        if tool is None or not tool.enabled or not self.service.can_call(ctx.identity, tool):
            return error_result(f"Unknown tool: {decided.tool}")
        mapping = merge_reply(tool.input_schema, decided.mapping, reply)
        return await self._finish(
            opts, decided.tool, tool.input_schema, mapping, decided.meta, without_input(ctx)
        )

    async def _finish(
        self,
        opts: _Options,
        key: str,
        input_schema: dict[str, Any],
        mapping: Mapping,
        meta: dict[str, Any],
        ctx: CallContext,
        hits: list[Hit] | None = None,
    ) -> CallToolResult:
        """Report what is still missing, or run the tool with the arguments and report its result."""
        meta = {
            **{k: meta[k] for k in ("tool", "confidence", "reasoning") if k in meta},
            "parameters": mapping.arguments,
            "parameter_sources": mapping.sources,
            **meta,
        }
        if not mapping.complete:
            payload = {
                "status": "missing_parameters",
                **meta,
                "missing": mapping.missing,
                "invalid": mapping.invalid,
                "input_schema": input_schema,
                "message": f"{key} needs: " + ", ".join(mapping.missing + mapping.invalid),
            }
            if mapping.sources.get("_elicitation") == "declined":
                payload["message"] = "The user declined to provide the missing parameters."
            return _reply(payload, is_error=False)
        result = await self._run(key, mapping.arguments, ctx)
        meta["status"] = "error" if result.is_error else "executed"
        if opts.sequential:
            meta["next_step"] = await self._next_step(opts.steps[1:], ctx)
        if result.is_error and opts.details:
            if hits is None:
                hits = await self.service.search_async(opts.step, ctx.identity, top_k=5)
            meta["error_details"] = {
                "scores": [
                    {
                        "name": h.doc.key,
                        "score": round(h.score, 3),
                        "confidence": round(h.confidence, 3),
                        "why": h.reasoning(),
                    }
                    for h in hits[:5]
                ]
            }
        meta["result"] = _dump_result(result)
        return _reply(meta, is_error=bool(result.is_error), lead=list(result.content))

    @staticmethod
    def _choose(hits: list[Hit], preferred: set[str], threshold: float) -> Hit | None:
        """The best hit above the threshold; a preferred tool wins when, with its prior, it clears it."""
        best = hits[0]
        if best.confidence < threshold:
            return None
        if preferred:
            for hit in hits:
                if not (hit.doc.key in preferred or hit.doc.name in preferred):
                    continue
                boosted = min(best.confidence, hit.confidence * PREFERENCE_ODDS)
                if boosted >= threshold:
                    return hit
        return best

    async def _next_step(self, remaining: list[str], ctx: CallContext) -> dict[str, Any] | None:
        if not remaining:
            return None
        request = remaining[0]
        hits = await self.service.search_async(request, ctx.identity, top_k=3)
        return {
            "request": " then ".join(remaining),
            "suggested_tool": hits[0].doc.key if hits else None,
            "confidence": round(hits[0].confidence, 3) if hits else None,
            "hint": "call smart_tool_discovery again with this request and sequential_mode true",
        }
