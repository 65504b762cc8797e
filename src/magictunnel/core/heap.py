"""Keep the garbage collector's full passes short in a long-running gateway process.

After start-up the process holds some 200,000 objects that live as long as it does (modules,
classes, pydantic schemas, the catalog, the discovery models' tables). CPython's full collection
walks all of them, about 120 ms here, and under load it ran every 1-2 seconds: every request in
flight stalled for that long (bench/forwarding, HTTP client in 2025 mode: p99 about 190 ms at
concurrency 8). `freeze_startup_heap` collects once and then moves what is alive into the
collector's permanent generation, so later passes only walk objects made afterwards. Frozen
objects are still freed by reference counting; only reference cycles among them are kept, and
those are rare in what start-up builds.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc


def freeze_startup_heap() -> None:
    gc.collect()
    gc.freeze()


def release_freed_heap() -> None:
    """Collect, then hand the heap memory that is free back to the system (glibc keeps it
    otherwise): for a process whose start-up built large temporary copies, such as an encoder
    helper's float32 weights while its 8-bit graph is built (about 70 MB of the MPNet helper's)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
