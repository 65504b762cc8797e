"""A sentence encoder in a helper process, so that it runs truly beside the ranking code.

Stage two's model (MiniLM) encodes each request while stage one ranks. In one process the two
fight over the GIL: PyTorch took it back between every one of its ~150 small operations, and
stage one's Python and numpy work holds it in between, so "in parallel" came out slower than one
after the other. ONNX Runtime, which the MiniLM helper now runs, releases it for its one call per
request, yet on a thread of the gateway the fast path was still slower than with the helper (p50
at 527 tools 5.6-6.4 against 4.9-5.3 ms, two runs each): the GIL still goes back and forth around
the call, and numpy's work in the gateway competes for the caches. A helper process has its own
interpreter. Requests and replies travel as small
frames over its stdin and stdout (a round trip costs ~20 µs here), in order, so several
requests may be in flight; a reader thread hands each reply to its waiting future.

Frames: one kind byte, a 4-byte big-endian length, the payload.
  parent -> helper: b"Q" + utf-8 text
  helper -> parent: b"R" + JSON (ready: {"variant": ...}), b"V" + float32 vector, b"E" + utf-8 error
The helper exits when its stdin closes, so it never outlives the gateway.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, BinaryIO

import numpy as np

from magictunnel.core.heap import release_freed_heap

log = logging.getLogger("magictunnel.discovery")

HEADER = struct.Struct(">cI")
START_TIMEOUT = 120.0  # importing PyTorch and loading weights on a slow disk
RESTART_AFTER = 30.0  # seconds after a failure before the next start; doubles per failure
RESTART_MAX = 600.0
PARENT_ENV = "MAGICTUNNEL_HELPER_PARENT"  # the starting process's pid, for the helper
PARENT_POLL = 0.1  # seconds between checks, while a helper loads, that its parent still runs


class HelperUnavailable(RuntimeError):
    pass


def write_frame(stream: BinaryIO, kind: bytes, payload: bytes) -> None:
    stream.write(HEADER.pack(kind, len(payload)) + payload)
    stream.flush()


def read_frame(stream: BinaryIO) -> tuple[bytes, bytes] | None:
    """The next frame, or None at end of stream."""
    head = _read_exactly(stream, HEADER.size)
    if head is None:
        return None
    kind, length = HEADER.unpack(head)
    payload = _read_exactly(stream, length) if length else b""
    if payload is None:
        return None
    return kind, payload


def _read_exactly(stream: BinaryIO, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class EncoderProcess:
    """Client of one helper process started with `argv` (its module speaks the frames above)."""

    def __init__(self, argv: list[str], dim: int, name: str) -> None:
        self.argv, self.dim, self.name = argv, dim, name
        self.state = "idle"  # idle -> starting -> ready | failed; ready -> failed if it dies
        self.detail = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self.failures = 0  # in a row; a start that reaches "ready" resets it
        self._failed_at = 0.0
        self._pending: deque[Future[np.ndarray]] = deque()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        atexit.register(self.close)  # the helper also exits on its own when our end of stdin closes

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def start(self, wait: bool = False) -> None:
        """Start the helper in the background unless it runs or starts already, or failed less
        than its back-off ago (30 s after the first failure, doubling, at most 10 min); `wait`
        blocks until it is ready or failed."""
        with self._lock:
            if self.state == "failed" and time.monotonic() - self._failed_at >= self.backoff():
                self.state = "idle"
            if self.state != "idle":
                starter = None
            else:
                self.state = "starting"
                starter = threading.Thread(target=self._launch, name=f"{self.name}-start", daemon=True)
                starter.start()
        if wait:
            if starter is not None:
                starter.join()
            else:
                while self.state == "starting":
                    time.sleep(0.01)

    def _launch(self) -> None:
        try:
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "OMP_NUM_THREADS": "1", PARENT_ENV: str(os.getpid())},
            )
        except OSError as exc:
            self._fail(f"cannot start: {exc}")
            return
        with self._lock:
            closed = self.state != "starting"  # closed while the process was being created
            if not closed:
                self._proc = proc
        if closed:
            proc.kill()
            proc.wait()
            return
        assert proc.stdout is not None
        timer = threading.Timer(START_TIMEOUT, proc.kill)
        timer.start()
        try:
            frame = read_frame(proc.stdout)
        finally:
            timer.cancel()
        if frame is None or frame[0] != b"R":
            message = frame[1].decode("utf-8", "replace") if frame else "exited while starting"
            with self._lock:
                if self._proc is proc:
                    self._proc = None
            self._fail(message)
            proc.kill()
            proc.wait()
            return
        info = json.loads(frame[1] or b"{}")
        engine = info.get("engine")  # the kernels' variant, and the engine running them if it says
        self.detail = str(info.get("variant", "")) + (f" ({engine})" if engine else "")
        with self._lock:
            if self.state != "starting" or self._proc is not proc:  # closed meanwhile
                proc.kill()
                return
            self.state = "ready"
            self.failures = 0
            self._pending = pending = deque()  # this process's requests in flight, in order
        threading.Thread(
            target=self._read_replies, args=(proc, pending), name=f"{self.name}-read", daemon=True
        ).start()
        log.info("%s runs in helper process %d (%s)", self.name, proc.pid, self.detail)

    def _fail(self, message: str) -> None:
        if self.state == "idle":  # closed on purpose
            return
        self.state = "failed"
        self.failures += 1
        self._failed_at = time.monotonic()
        self.detail = message
        log.info("%s helper process unavailable: %s", self.name, message)

    def submit(self, text: str) -> Future[np.ndarray] | None:
        """Send one request; None when the helper is not ready (the caller encodes itself)."""
        proc = self._proc
        if self.state != "ready" or proc is None or proc.stdin is None:
            return None
        future: Future[np.ndarray] = Future()
        pending = self._pending
        try:
            with self._write_lock:
                pending.append(future)
                write_frame(proc.stdin, b"Q", text.encode("utf-8", "replace"))
        except (OSError, ValueError) as exc:
            self._died(proc, pending, f"write failed: {exc}")
            return None
        return future

    def _read_replies(self, proc: subprocess.Popen[bytes], pending: deque[Future[np.ndarray]]) -> None:
        assert proc.stdout is not None
        while True:
            frame = read_frame(proc.stdout)
            if frame is None:
                self._died(proc, pending, "exited")
                return
            kind, payload = frame
            try:
                future = pending.popleft()
            except IndexError:
                self._died(proc, pending, "replied to nothing")
                return
            if kind == b"V" and len(payload) == 4 * self.dim:
                future.set_result(np.frombuffer(payload, dtype=np.float32).copy())
            else:
                future.set_exception(HelperUnavailable(payload.decode("utf-8", "replace") or "bad reply"))

    def _died(self, proc: subprocess.Popen[bytes], pending: deque[Future[np.ndarray]], message: str) -> None:
        """`proc` ended or broke: fail its requests in flight, and mark the helper failed unless
        it was closed on purpose or another process has replaced it since."""
        with self._lock:
            if self.state == "ready" and self._proc is proc:
                self._fail(message)
        while pending:
            pending.popleft().set_exception(HelperUnavailable(message))

    def backoff(self) -> float:
        return min(RESTART_AFTER * 2 ** max(self.failures - 1, 0), RESTART_MAX)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        """Stop the helper; a later `start` may run a new one."""
        with self._lock:
            proc, self._proc = self._proc, None
            starting = self.state == "starting"
            self.state = "idle"  # also tells a start still under way to give up
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # the helper exits at end of input, once it reads it:
            if starting:  # while loading it does not, and seconds of loading would be wasted
                proc.kill()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


def helper_argv(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def serve_helper(load: Callable[[], tuple[Callable[[str], np.ndarray], dict[str, Any]]]) -> int:
    """The helper side: `load()` gives the encoder and what the ready frame reports; then one
    vector frame per request frame until stdin closes. Frames go to the real stdout alone:
    anything a library prints goes to stderr instead."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    inp = sys.stdin.buffer
    loaded = threading.Event()
    # the parent's pid as it says (it may be gone already, and we adopted, before we look)
    parent = int(os.environ.get(PARENT_ENV, "") or os.getppid())
    threading.Thread(target=_exit_with_parent, args=(parent, loaded), daemon=True).start()
    try:
        encode, ready = load()
    except Exception as exc:  # reported to the parent, which then encodes in-process or without it
        write_frame(out, b"E", f"{type(exc).__name__}: {exc}".encode())
        return 1
    finally:
        loaded.set()
    release_freed_heap()
    write_frame(out, b"R", json.dumps(ready).encode())
    while (frame := read_frame(inp)) is not None:
        try:
            write_frame(out, b"V", encode(frame[1].decode("utf-8")).tobytes())
        except (BrokenPipeError, OSError):
            return 0
        except Exception as exc:  # one bad request must not end the helper
            write_frame(out, b"E", f"{type(exc).__name__}: {exc}".encode())
    return 0


def _exit_with_parent(parent: int, loaded: threading.Event) -> None:
    """While the helper loads (seconds of work, during which it reads no input and so would not
    see its parent go), end it as soon as the parent process is gone."""
    while not loaded.wait(PARENT_POLL):
        if os.getppid() != parent:
            os._exit(0)
