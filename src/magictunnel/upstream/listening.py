"""2026-07-28 change notifications: one `subscriptions/listen` stream per upstream."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.abc
from mcp.client.session import ClientSession
from mcp.client.subscriptions import ListenNotSupportedError, listen

from magictunnel.upstream.errors import _describe

log = logging.getLogger("magictunnel.upstream")


class ChangeListening:
    """Mixin for `UpstreamConnection`: keeps the listen stream open and its URI watches current."""

    name: str
    capabilities: Any
    watched_uris: set[str]
    _relisten: anyio.Event
    _acked: anyio.Event

    ready: bool  # properties on the connection
    modern: bool

    # ---- 2026-07-28 change notifications ---------------------------------------------------
    async def watch(self, uri: str, timeout: float = 5.0) -> None:
        """Ask a 2026-07-28 upstream for `notifications/resources/updated` about `uri`.

        Returns once the re-opened listen stream is acknowledged, so no update is missed.
        """
        if uri in self.watched_uris:
            return
        self.watched_uris.add(uri)
        await self._relisten_now(timeout)

    async def unwatch(self, uri: str) -> None:
        if uri in self.watched_uris:
            self.watched_uris.discard(uri)
            await self._relisten_now(1.0)

    async def _relisten_now(self, timeout: float) -> None:
        if not self.ready or not self.modern:
            return
        acked = self._acked = anyio.Event()
        self._relisten.set()
        with anyio.move_on_after(timeout):
            await acked.wait()

    async def _listen_loop(
        self, session: ClientSession, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Keep one `subscriptions/listen` stream open; its events reach `_on_message` (the tee).

        Started before the server is marked ready, so no change announced after the listing is lost.
        """
        caps = self.capabilities.server_capabilities
        started = False

        def ready() -> None:
            nonlocal started
            if not started:
                started = True
                task_status.started()

        def flag(kind: str, key: str = "listChanged") -> bool:
            return bool((caps.get(kind) or {}).get(key))

        tools, prompts, resources = flag("tools"), flag("prompts"), flag("resources")
        if not (tools or prompts or resources or flag("resources", "subscribe")):
            ready()
            return
        while True:
            self._relisten = anyio.Event()
            try:
                async with listen(
                    session,
                    tools_list_changed=tools,
                    prompts_list_changed=prompts,
                    resources_list_changed=resources,
                    resource_subscriptions=sorted(self.watched_uris),
                ) as sub:
                    ready()
                    self._acked.set()
                    async with anyio.create_task_group() as tg:

                        async def drain() -> None:
                            async for _event in sub:
                                pass
                            self._relisten.set()

                        tg.start_soon(drain)
                        await self._relisten.wait()
                        tg.cancel_scope.cancel()
            except ListenNotSupportedError:
                ready()
                return
            except Exception as exc:  # the stream dropped; re-open after a pause
                ready()
                log.debug("upstream %s: subscriptions/listen ended: %s", self.name, _describe(exc))
                await anyio.sleep(1.0)
