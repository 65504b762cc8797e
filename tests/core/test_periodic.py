from __future__ import annotations

import asyncio

import pytest

from magictunnel.core.periodic import Periodic

pytestmark = pytest.mark.anyio


async def test_stop_lets_the_current_round_finish() -> None:
    log: list[str] = []
    inside = asyncio.Event()

    async def round_() -> None:
        log.append("begin")
        inside.set()
        await asyncio.sleep(0.2)  # a query in flight when stop() is called
        log.append("end")

    poller = Periodic("t", 0.01, round_, run_first=True)
    poller.start()
    await inside.wait()
    await poller.stop()
    assert log == ["begin", "end"] and not poller.running


async def test_a_failing_round_does_not_end_the_loop() -> None:
    rounds: list[int] = []
    errors: list[str] = []

    async def round_() -> None:
        rounds.append(len(rounds))
        if len(rounds) == 1:
            raise RuntimeError("database away")

    poller = Periodic("t", 0.01, round_, on_error=lambda exc: errors.append(str(exc)))
    poller.start()
    while len(rounds) < 3:
        await asyncio.sleep(0.01)
    await poller.stop()
    assert errors == ["database away"]


async def test_a_hung_round_is_cancelled_after_the_grace_period() -> None:
    cancelled = asyncio.Event()

    async def round_() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    poller = Periodic("t", 0.01, round_, run_first=True)
    poller.start()
    await asyncio.sleep(0.05)
    await poller.stop(grace=0.1)
    assert cancelled.is_set() and not poller.running


async def test_stop_between_rounds_does_not_wait_for_the_interval() -> None:
    poller = Periodic("t", 3600, lambda: asyncio.sleep(0))
    poller.start()
    await asyncio.wait_for(poller.stop(grace=60), 1)
