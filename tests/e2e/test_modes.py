"""Runtime modes: proxy loads the core only, advanced adds the security services; env overrides win
over the file and are logged as warnings."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.gateway import basic_workdir, run_gateway


def test_proxy_mode_default(tmp_path: Path) -> None:
    with run_gateway(basic_workdir(tmp_path)) as gw:
        mode = httpx.get(f"{gw.base_url}/api/mode").json()
        assert mode == {"mode": "proxy", "source": "default"}
        status = httpx.get(f"{gw.base_url}/api/status").json()
        states = {s["name"]: s["state"] for s in status["services"]}
        assert states["capability_registry"] == "running"
        assert all(state in ("running", "skipped") for state in states.values()), states
        assert status["tools"] >= 3


def test_env_override_beats_file_and_is_logged(tmp_path: Path) -> None:
    workdir = basic_workdir(tmp_path)
    config = {"deployment": {"runtime_mode": "proxy"}}
    with run_gateway(workdir, config, env={"MAGICTUNNEL_RUNTIME_MODE": "advanced"}) as gw:
        mode = httpx.get(f"{gw.base_url}/api/mode").json()
        assert mode == {"mode": "advanced", "source": "env MAGICTUNNEL_RUNTIME_MODE"}
        status = httpx.get(f"{gw.base_url}/api/status").json()
        assert status["mode"] == "advanced"
        skipped = [s["name"] for s in status["services"] if s["state"] == "skipped"]
        assert skipped == [], "advanced mode starts every service"
    assert "environment override: MAGICTUNNEL_RUNTIME_MODE=advanced" in gw.log()


def test_file_mode_advanced(tmp_path: Path) -> None:
    workdir = basic_workdir(tmp_path)
    with run_gateway(workdir, {"global": {"deployment": {"runtime_mode": "advanced"}}}) as gw:
        mode = httpx.get(f"{gw.base_url}/api/mode").json()
        assert mode["mode"] == "advanced"
        assert mode["source"].endswith("magictunnel-config.yaml")
