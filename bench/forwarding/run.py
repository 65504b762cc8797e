"""tools/call latency and throughput: direct to an upstream vs through MagicTunnel, in one run.

The upstream is the project's SDK "everything" fixture. With `--client stdio` (default) the
SDK client spawns the fixture (direct) or `magictunnel stdio` fronting the fixture over stdio
(through). With `--client http` it talks Streamable HTTP to the fixture (direct) or to a
`magictunnel serve` process fronting another fixture instance (stdio by default,
`--upstream http` for Streamable HTTP). The gateway keeps one long-lived upstream session.

For each concurrency level (1, 8, 32 by default) that many callers share one client session and
call `add` in a loop for `--seconds`, after `--warmup` seconds of unmeasured calls (a gateway
just started loads its discovery models and builds its index in the background, which would
otherwise land in the measurement: a new `magictunnel stdio` process is started per level); the
run prints p50/p99 latency, calls/s, and the gateway/direct ratios.

    .venv/bin/python bench/forwarding/run.py [--seconds 5] [--warmup 5] [--levels 1,8,32]
                                             [--client stdio|http]
                                             [--upstream stdio|http]
                                             [--mode auto|legacy] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx
import yaml
from mcp import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "everything_server.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def start_fixture(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, str(FIXTURE), "--transport", "http", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_http(f"http://127.0.0.1:{port}/", proc)
    return proc


def write_config(workdir: Path, upstream: str, upstream_port: int | None) -> Path:
    if upstream == "http":
        server = {"type": "http", "url": f"http://127.0.0.1:{upstream_port}/mcp"}
    else:
        server = {"command": sys.executable, "args": [str(FIXTURE)]}
    config = {
        "registry": {"paths": [], "hot_reload": False},
        "storage": {"data_dir": str(workdir / "data")},
        "logging": {"level": "warning"},
        "external_mcp": {
            "config_file": None,
            "naming": "passthrough",
            "startup_wait": 30,
            "servers": {"everything": server},
        },
    }
    path = workdir / "magictunnel-config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def start_gateway(
    workdir: Path, upstream: str, upstream_port: int | None, profile: str | None
) -> tuple[subprocess.Popen[bytes], int]:
    write_config(workdir, upstream, upstream_port)
    port = free_port()
    cmd = [sys.executable]
    if profile:
        cmd += ["-m", "cProfile", "-o", profile]
    cmd += ["-m", "magictunnel", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    wait_http(f"http://127.0.0.1:{port}/health", proc)
    return proc, port


async def measure(
    target: object, concurrency: int, seconds: float, mode: str, warmup: float = 0.0
) -> dict[str, float]:
    """`concurrency` callers share one client session (one stdio process / one HTTP session).
    For the first `warmup` seconds they call without being measured: a freshly started gateway
    loads its discovery models and builds its index in the background for a few seconds."""
    latencies: list[float] = []
    async with Client(target, mode=mode) as client:  # type: ignore[arg-type]
        await client.call_tool("add", {"a": 1, "b": 2})  # warm-up (and tools/list for 2026)

        async def worker(stop_at: float, record: bool) -> None:
            while True:
                started = time.perf_counter()
                if started >= stop_at:
                    return
                result = await client.call_tool("add", {"a": 1, "b": 2})
                if record:
                    latencies.append(time.perf_counter() - started)
                if result.is_error:
                    raise RuntimeError(f"call failed: {result.content}")

        for span, record in ((warmup, False), (seconds, True)):
            begin = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for _ in range(concurrency):
                    tg.start_soon(worker, begin + span, record)
            elapsed = time.perf_counter() - begin
    latencies.sort()
    return {
        "calls": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "rps": len(latencies) / elapsed,
    }


async def forwarding_path(seconds: float) -> tuple[dict[str, float], dict[str, float]]:
    """The forwarding path alone: an SDK stdio client on the fixture vs `gateway.call_tool` in process
    (same fixture over stdio, no client-facing transport), both at concurrency 1."""
    from magictunnel.config.loader import LoadedConfig
    from magictunnel.config.models import MagicTunnelConfig
    from magictunnel.core.gateway import Gateway
    from magictunnel.pipeline.context import CallContext

    direct = await measure(
        StdioServerParameters(command=sys.executable, args=[str(FIXTURE)]), 1, seconds, "auto"
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = MagicTunnelConfig.model_validate(
            {
                "registry": {"paths": [], "hot_reload": False},
                "storage": {"data_dir": str(Path(tmp) / "data")},
                "external_mcp": {
                    "config_file": None,
                    "naming": "passthrough",
                    "servers": {"fx": {"command": sys.executable, "args": [str(FIXTURE)]}},
                },
            }
        )
        gateway = Gateway(LoadedConfig(config=config, path=None), base_dir=Path(tmp))
        await gateway.start()
        try:
            await gateway.extensions["upstream_manager"].connections["fx"].wait_ready(30)
            await anyio.sleep(2)  # let start-up work (indexes, migrations) settle
            latencies: list[float] = []
            stop_at = time.perf_counter() + seconds
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                await gateway.call_tool("add", {"a": 1, "b": 2}, CallContext())
                latencies.append(time.perf_counter() - started)
        finally:
            await gateway.stop()
    latencies.sort()
    through = {
        "p50_ms": statistics.median(latencies) * 1000,
        "rps": len(latencies) / seconds,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }
    return direct, through


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds of unmeasured calls before each measurement"
    )
    parser.add_argument("--client", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--upstream", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--mode", default="auto", help="client era: auto (newest) or legacy")
    parser.add_argument("--profile", help="write a cProfile of the gateway process to this file")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            upstream_port = None
            if args.upstream == "http":
                upstream_port = free_port()
                procs.append(start_fixture(upstream_port))
            if args.client == "stdio":
                config = write_config(Path(tmp), args.upstream, upstream_port)
                direct_target: object = StdioServerParameters(command=sys.executable, args=[str(FIXTURE)])
                gateway_target: object = StdioServerParameters(
                    command=sys.executable,
                    args=["-m", "magictunnel", "stdio", "--config", str(config)],
                    cwd=tmp,
                )
            else:
                direct_port = free_port()
                procs.append(start_fixture(direct_port))
                gateway, gw_port = start_gateway(Path(tmp), args.upstream, upstream_port, args.profile)
                procs.append(gateway)
                direct_target = f"http://127.0.0.1:{direct_port}/mcp"
                gateway_target = f"http://127.0.0.1:{gw_port}/mcp"
            print(
                f"tools/call `add`, {args.seconds:g}s per level, client mode={args.mode}, "
                f"client over {args.client}, gateway upstream over {args.upstream}, {os.cpu_count()} CPUs"
            )
            header = (
                f"{'c':>3} | {'direct p50':>10} {'p99':>8} {'calls/s':>8} | {'gateway p50':>11} {'p99':>8} "
                f"{'calls/s':>8} | {'p50 overhead':>12} {'throughput':>10}"
            )
            print(header)
            print("-" * len(header))
            for level in levels:
                direct = anyio.run(measure, direct_target, level, args.seconds, args.mode, args.warmup)
                through = anyio.run(measure, gateway_target, level, args.seconds, args.mode, args.warmup)
                overhead = through["p50_ms"] - direct["p50_ms"]
                ratio = through["rps"] / direct["rps"] * 100
                print(
                    f"{level:>3} | {direct['p50_ms']:>8.2f}ms {direct['p99_ms']:>6.2f}ms {direct['rps']:>8.0f} | "
                    f"{through['p50_ms']:>9.2f}ms {through['p99_ms']:>6.2f}ms {through['rps']:>8.0f} | "
                    f"{overhead:>+10.2f}ms {ratio:>9.0f}%"
                )
            direct, through = anyio.run(forwarding_path, args.seconds)
            print(
                f"forwarding path alone (c=1): SDK stdio client -> fixture {direct['p50_ms']:.2f}ms p50; "
                f"gateway.call_tool -> fixture {through['p50_ms']:.2f}ms p50 "
                f"({through['p50_ms'] - direct['p50_ms']:+.2f}ms)"
            )
        finally:
            for proc in reversed(procs):
                if proc.poll() is None:
                    os.killpg(
                        proc.pid, signal.SIGINT if args.profile and proc is procs[-1] else signal.SIGTERM
                    )
                    try:
                        proc.wait(15)
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.wait()


if __name__ == "__main__":
    main()
