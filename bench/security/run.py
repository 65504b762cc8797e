"""Security pipeline overhead per tool call, with 1,000 allowlist rules and 100 RBAC roles.

Runs the same in-process tool through `gateway.call_tool` in runtime mode `proxy` (no security
stages) and `advanced` (audit, lockdown, allowlist, RBAC, policy, sanitization in and out), and
prints per-call latency percentiles and the difference. Target: p50 added <= 0.3 ms.

    .venv/bin/python bench/security/run.py [--calls 5000] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp_types import CallToolResult, TextContent

from magictunnel.catalog.catalog import SourceSnapshot
from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.config.loader import LoadedConfig
from magictunnel.config.models import MagicTunnelConfig
from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext, Identity

TOOLS = 200


class Echo:
    type = "echo"

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: Any) -> CallToolResult:
        return CallToolResult(content=[TextContent(text=json.dumps(arguments))])

    def check_config(self, config: dict[str, Any]) -> list[str]:
        return []


def make(mode: str, workdir: Path, db_url: str | None) -> Gateway:
    raw: dict[str, Any] = {
        "deployment": {"runtime_mode": mode},
        "registry": {"paths": [], "hot_reload": False},
        "external_mcp": {"config_file": None},
        "storage": {"data_dir": str(workdir / "data"), **({"database_url": db_url} if db_url else {})},
    }
    gateway = Gateway(LoadedConfig(MagicTunnelConfig.model_validate(raw), None), base_dir=workdir)
    gateway.backends.register(Echo())
    tools = [
        ToolDef(
            name=f"svc{i % 20}_op{i}",
            routing=Routing(type="echo"),
            input_schema={
                "type": "object",
                "properties": {"q": {"type": "string"}, "n": {"type": "integer"}},
            },
        )
        for i in range(TOOLS)
    ]
    gateway.catalog.set_source(SourceSnapshot(name="bench", tools=tools, priority=5))
    return gateway


async def populate(gateway: Gateway) -> None:
    sec = gateway.extensions["security"]
    rules = []
    for i in range(1000):
        kind = i % 10
        if kind < 6:
            rules.append(
                {"name": f"exact-{i}", "match_type": "exact", "pattern": f"other_tool_{i}", "action": "deny"}
            )
        elif kind < 9:
            rules.append(
                {
                    "name": f"glob-{i}",
                    "match_type": "glob",
                    "pattern": f"svc{i % 20}_op*",
                    "action": "allow",
                    "priority": i % 7,
                }
            )
        else:
            rules.append(
                {
                    "name": f"regex-{i}",
                    "match_type": "regex",
                    "pattern": rf"legacy_{i}_(read|write)",
                    "action": "deny",
                    "parameters": {"path": {"blocked_patterns": [r"\.\./"]}},
                }
            )
    await sec.allowlist.create_many(rules)
    await sec.rbac.create_role({"name": "role-0", "permissions": ["tool:svc0_*"]})
    for i in range(1, 100):
        await sec.rbac.create_role(
            {
                "name": f"role-{i}",
                "inherits": [f"role-{i - 1}"] if i % 10 else [],
                "permissions": [f"tool:svc{i % 20}_*", f"!tool:forbidden_{i}"],
            }
        )
    await sec.rbac.create_client(
        {"id": "bench-client", "roles": ["role-9", "role-19", "role-29", "role-39", "role-49", "role-59"]}
    )
    for i in range(20):
        await sec.policy.create(
            {
                "name": f"policy-{i}",
                "effect": "deny",
                "priority": i,
                "conditions": {"tools": [f"nomatch_{i}_*"], "clients": ["bench-*"]},
            }
        )
    await sec.sanitization.create(
        {
            "name": "in",
            "tool_pattern": "svc*",
            "direction": "input",
            "action": "redact",
            "categories": ["secret", "pii"],
        }
    )


async def measure(gateway: Gateway, calls: int, warmup: int = 500) -> list[float]:
    names = [t.name for t in gateway.visible_tools() if t.name.startswith("svc")]
    identity = Identity(client_id="bench-client", roles=("role-99",))
    out = []
    for i in range(warmup + calls):
        ctx = CallContext(identity=identity)
        name = names[i % len(names)]
        start = time.perf_counter()
        result = await gateway.call_tool(name, {"q": f"find invoices for customer {i}", "n": i}, ctx)
        elapsed = time.perf_counter() - start
        if result.is_error:
            raise SystemExit(f"unexpected denial in the benchmark: {result.content[0].text}")
        if i >= warmup:
            out.append(elapsed * 1000)
    return out


async def lockdown_latency(gateway: Gateway, workdir: Path, db_url: str | None) -> list[float]:
    """Seconds from `lockdown on` in another suite (what the CLI does) until the gateway blocks calls."""
    from magictunnel.security.suite import SecuritySuite
    from magictunnel.storage import Storage

    config = gateway.config
    store = Storage.from_config(config, workdir)
    other = await SecuritySuite(store, config.security).load()
    delays = []
    try:
        for active in (True, False, True, False, True, False):
            start = time.perf_counter()
            await other.lockdown.set(active, "bench", "latency probe")
            while gateway.extensions["security"].lockdown.active != active:
                await asyncio.sleep(0.005)
            delays.append(time.perf_counter() - start)
    finally:
        await other.close()
        await store.close()
    return delays


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    args = parser.parse_args()
    os.environ.setdefault("MAGICTUNNEL_ADMIN_PASSWORD", "bench-only-Passw0rd")
    with tempfile.TemporaryDirectory() as tmp:
        proxy = make("proxy", Path(tmp) / "proxy", None)
        advanced = make("advanced", Path(tmp) / "advanced", args.database_url)
        await proxy.start()
        await advanced.start()
        try:
            await populate(advanced)
            base: list[float] = []
            sec_times: list[float] = []
            for _ in range(args.rounds):  # interleave so drift hits both equally
                base += await measure(proxy, args.calls)
                sec_times += await measure(advanced, args.calls)
            sec = advanced.extensions["security"]
            await sec.audit.flush()
            audited = (await sec.audit.get_statistics())["total"]

            rbac = advanced.extensions["rbac"]
            identity = Identity(client_id="bench-client", roles=("role-99",))
            tools = advanced.visible_tools()
            rbac._sets.clear()
            t0 = time.perf_counter()
            visible = [t for t in tools if rbac.can_call(identity, t)]
            cold = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            for _ in range(100):
                visible = [t for t in tools if rbac.can_call(identity, t)]
            warm = (time.perf_counter() - t0) * 10
            lockdown = await lockdown_latency(advanced, Path(tmp) / "advanced", args.database_url)
        finally:
            await advanced.stop()
            await proxy.stop()

    db = args.database_url.split("@")[-1] if args.database_url else "sqlite (temporary)"
    print(
        f"security pipeline overhead: {args.rounds} x {args.calls} calls per mode, {TOOLS} tools, "
        f"1000 allowlist rules, 100 roles, 20 policies; database {db}"
    )
    print(f"{'mode':<22}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for label, values in (("proxy (no security)", base), ("advanced (security)", sec_times)):
        print(
            f"{label:<22}{pct(values, 50):>10.4f}{pct(values, 95):>10.4f}{pct(values, 99):>10.4f}"
            f"{statistics.fmean(values):>10.4f}"
        )
    added = pct(sec_times, 50) - pct(base, 50)
    print(
        f"added per call: p50 {added:.4f} ms (target <= 0.3 ms: {'met' if added <= 0.3 else 'NOT met'}), "
        f"p95 {pct(sec_times, 95) - pct(base, 95):.4f} ms"
    )
    print(f"audit entries written: {audited} (journal + database)")
    print(
        f"tools/list filtering for one client over {len(tools)} tools: cold {cold:.3f} ms, warm {warm:.3f} ms "
        f"({len(visible)} visible)"
    )
    print(
        f"lockdown toggled by another process (CLI) reaches the gateway in: max {max(lockdown):.3f} s, "
        f"mean {statistics.fmean(lockdown):.3f} s (poll interval {0.5} s); REST/in-process toggles apply at once"
    )


if __name__ == "__main__":
    asyncio.run(main())
