"""Sliding-window attempt counter for login rate limiting (per client address)."""

from __future__ import annotations

import time
from collections import deque


class SlidingWindowLimiter:
    def __init__(self, max_attempts: int, window_seconds: float, max_keys: int = 10_000) -> None:
        self.max_attempts = max_attempts
        self.window = window_seconds
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def _prune(self, key: str, now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def hit(self, key: str) -> float | None:
        """Record an attempt; None when allowed, else seconds until the next one is."""
        now = time.monotonic()
        if len(self._hits) > self.max_keys:
            for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                self._hits.pop(k, None)
        hits = self._prune(key, now)
        if len(hits) >= self.max_attempts:
            return max(0.0, hits[0] + self.window - now)
        hits.append(now)
        return None

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)
