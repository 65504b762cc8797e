from __future__ import annotations

import pytest

from magictunnel.config.models import RuntimeMode
from magictunnel.core.services import ServiceContainer, ServiceSpec, ServiceStartError, ServiceState

pytestmark = pytest.mark.anyio


def _spec(
    name: str,
    log: list[str],
    fail: bool = False,
    optional: bool = False,
    modes: frozenset[RuntimeMode] | None = None,
) -> ServiceSpec:
    async def start() -> str:
        if fail:
            raise OSError(f"{name} cannot bind")
        log.append(f"start {name}")
        return name

    async def stop() -> None:
        log.append(f"stop {name}")

    return ServiceSpec(
        name,
        start,
        stop,
        optional=optional,
        modes=modes or frozenset({RuntimeMode.PROXY, RuntimeMode.ADVANCED}),
    )


async def test_modes_select_services_and_stop_in_reverse() -> None:
    log: list[str] = []
    container = ServiceContainer(RuntimeMode.PROXY)
    container.add(_spec("core", log))
    container.add(_spec("audit", log, modes=frozenset({RuntimeMode.ADVANCED})))
    container.add(_spec("web", log))
    await container.start_all()
    states = {row["name"]: row["state"] for row in container.report()}
    assert states == {"core": "running", "audit": "skipped", "web": "running"}
    assert container.get("core") == "core" and container.get("audit") is None
    await container.stop_all()
    assert log == ["start core", "start web", "stop web", "stop core"]


async def test_optional_failure_is_reported_not_fatal() -> None:
    log: list[str] = []
    container = ServiceContainer(RuntimeMode.ADVANCED)
    container.add(_spec("metrics", log, fail=True, optional=True))
    container.add(_spec("core", log))
    await container.start_all()
    metrics = container.status["metrics"]
    assert metrics.state is ServiceState.FAILED
    assert metrics.error == "OSError: metrics cannot bind"
    assert container.status["core"].state is ServiceState.RUNNING


async def test_required_failure_names_the_service() -> None:
    container = ServiceContainer(RuntimeMode.PROXY)
    container.add(_spec("registry", [], fail=True))
    with pytest.raises(
        ServiceStartError, match="service registry failed to start: OSError: registry cannot bind"
    ):
        await container.start_all()
