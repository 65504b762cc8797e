"""Background work on a timer that stops between rounds, never in the middle of one.

Cancelling a poller while it holds a database connection (a query, a commit) interrupts the
driver mid-conversation: SQLAlchemy then logs the aborted reset with a traceback and a write can
be cut short. `Periodic.stop()` asks the loop to finish its current round, waits for it (up to a
grace period) and cancels only a round that hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Periodic:
    def __init__(
        self,
        name: str,
        interval: float,
        step: Callable[[], Awaitable[object]],
        *,
        on_error: Callable[[Exception], None] | None = None,
        run_first: bool = False,
    ) -> None:
        self.name = name
        self.interval = interval
        self._step = step
        self._on_error = on_error
        self._run_first = run_first  # a round at once, not after the first interval
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def _loop(self) -> None:
        wait_first = not self._run_first
        while True:
            if wait_first:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.interval)
            wait_first = True
            if self._stopping.is_set():
                return
            try:
                await self._step()
            except Exception as exc:  # keep going: the database or the provider may come back
                if self._on_error is not None:
                    self._on_error(exc)
                else:
                    log.warning("%s: %s: %s", self.name, type(exc).__name__, exc)

    async def stop(self, grace: float = 5.0) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            log.warning("%s: a round still ran after %.0f s; cancelling it", self.name, grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
