"""Server->client requests from a handshake-era upstream, for a 2026-07-28 client.

A 2026-07-28 client cannot be sent requests; it expects `input_required` results and retries
with `inputResponses` and the echoed `requestState`. When a handshake-era upstream asks for
sampling, elicitation or roots in the middle of a call, the upstream call keeps running in the
background (an `Exchange`); the client gets an `input_required` result naming the request and
a random `requestState`, and its retry delivers the answer to the waiting upstream request.
The call then continues to its result or to the next question.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

import anyio
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

EXCHANGE_TTL = 600.0


class _Reply:
    def __init__(self) -> None:
        self.event = anyio.Event()
        self.value: Any = None
        self.error: MCPError | None = None

    def set(self, value: Any) -> None:
        self.value = value
        self.event.set()

    def fail(self, error: MCPError) -> None:
        self.error = error
        self.event.set()

    async def wait(self) -> Any:
        await self.event.wait()
        if self.error is not None:
            raise self.error
        return self.value


class Exchange:
    def __init__(self, method: str, target: str | None) -> None:
        self.method = method
        self.target = target
        self.send, self.receive = anyio.create_memory_object_stream[tuple[str, Any, Any]](32)
        self.replies: dict[str, _Reply] = {}
        self.expires = time.monotonic() + EXCHANGE_TTL
        self._keys = itertools.count(1)

    def new_key(self) -> str:
        return f"upstream_request_{next(self._keys)}"


class ExchangeHandle:
    """Stands in for the 2026-07-28 client while the upstream call runs: its requests become
    input requests of the exchange; notifications go to the real client when it can take them."""

    is_modern = False

    def __init__(self, real: Any, exchange: Exchange) -> None:
        self.real = real
        self.exchange = exchange
        self.key = getattr(real, "key", id(real))
        self.progress_token = None
        self.request_context = None

    @property
    def capabilities(self) -> dict[str, Any]:
        return getattr(self.real, "capabilities", {}) or {}

    async def forward_request(self, method: str, params: Any) -> Any:
        key = self.exchange.new_key()
        reply = _Reply()
        self.exchange.replies[key] = reply
        request = {"method": method, "params": params or {}}
        await self.exchange.send.send(("input", key, request))
        return await reply.wait()

    async def notify(self, method: str, params: Any) -> None:
        try:
            await self.real.notify(method, params)
        except Exception:  # the client's request already ended: nothing to carry it
            return

    async def send_progress(
        self, progress: float, total: float | None = None, message: str | None = None
    ) -> None:
        return None


class Exchanges:
    def __init__(self) -> None:
        self._open: dict[str, Exchange] = {}

    def _prune(self) -> None:
        now = time.monotonic()
        for token in [t for t, ex in self._open.items() if ex.expires < now]:
            ex = self._open.pop(token)
            for reply in ex.replies.values():
                if not reply.event.is_set():
                    reply.fail(MCPError(INVALID_PARAMS, "the client did not answer in time"))

    def take(self, token: Any, method: str, target: str | None) -> Exchange | None:
        if not isinstance(token, str) or token not in self._open:
            return None
        ex = self._open[token]
        if ex.method != method or ex.target != target:
            raise MCPError(INVALID_PARAMS, "requestState does not belong to this request")
        del self._open[token]
        return ex

    @staticmethod
    def answer(ex: Exchange, responses: Any) -> None:
        responses = responses if isinstance(responses, dict) else {}
        for key, reply in ex.replies.items():
            if reply.event.is_set():
                continue
            if key in responses:
                reply.set(responses[key])
            else:
                reply.fail(MCPError(INVALID_PARAMS, f"inputResponses is missing {key!r}"))

    async def next(self, ex: Exchange, timeout: float) -> dict[str, Any]:
        """The exchange's next step as a raw result: the final one, or an input_required result."""
        with anyio.fail_after(timeout):
            kind, key, payload = await ex.receive.receive()
        if kind == "done":
            return payload
        if kind == "error":
            raise payload
        requests = {key: payload}
        while True:  # requests the upstream sent at the same moment go out together
            try:
                more = ex.receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
            if more[0] != "input":
                await ex.send.send(more)  # keep the outcome for the next round
                break
            requests[more[1]] = more[2]
        self._prune()
        token = secrets.token_urlsafe(24)
        ex.expires = time.monotonic() + EXCHANGE_TTL
        self._open[token] = ex
        return {"resultType": "input_required", "inputRequests": requests, "requestState": token}
