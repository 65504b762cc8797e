"""Waiting for an upstream connection: until it is ready, until its current attempt settles,
or until it is ready or has failed for good (`UpstreamConnection` mixes this in).

Two events carry it. `_ready` is set while the connection serves; once it goes down a fresh one
replaces it, but only if it was set, so that whoever waits through a restart (a call that arrived
meanwhile) is woken as soon as the server is back rather than at its timeout. `_settled` is set,
then replaced, each time an attempt settles: it became ready, it ended, or the supervisor gave up.
"""

from __future__ import annotations

import anyio

from magictunnel.upstream.state import State


class Readiness:
    _ready: anyio.Event
    _settled: anyio.Event
    state: State
    ready: bool  # the connection's: serving with a live session

    async def wait_ready(self, timeout: float) -> bool:
        with anyio.move_on_after(timeout):
            await self._ready.wait()
        return self.ready

    async def wait_settled(self, timeout: float) -> bool:
        """Wait until the current connection attempt is ready or has failed (not for the
        restarts after it), at most `timeout` seconds; whether it is ready."""
        if self.ready:
            return True
        settled = self._settled
        with anyio.move_on_after(timeout):
            await settled.wait()
        return self.ready

    async def wait_started(self, timeout: float) -> bool:
        """Wait until it is ready, or has failed for good (no restart left), at most `timeout`
        seconds; whether it is ready."""
        with anyio.move_on_after(timeout):
            while not self.ready and self.state is not State.FAILED:
                await self.wait_settled(timeout)
        return self.ready

    def _not_ready(self) -> None:
        """A fresh ready event once the connection is down, but only if the current one was
        set: whoever waits on an unset one (a call during a restart) is woken when it is ready."""
        if self._ready.is_set():
            self._ready = anyio.Event()

    def _settle(self) -> None:
        self._settled.set()
        self._settled = anyio.Event()
