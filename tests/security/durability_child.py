"""Child process for the audit durability test: makes calls, reports each one, waits to be killed.

Usage: python durability_child.py <database_url> <data_dir> <calls>
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.security.conftest import make_gateway

from magictunnel.pipeline.context import CallContext, Identity


async def main(db_url: str, data_dir: str, calls: int) -> None:
    tmp = Path(data_dir).parent
    # the flusher never runs during the test: every entry must survive from the journal alone
    gateway = make_gateway(tmp, db_url, security={"audit": {"flush_interval": 60}})
    await gateway.start()
    for i in range(calls):
        ctx = CallContext(identity=Identity(client_id="durable"))
        result = await gateway.call_tool("echo", {"i": i}, ctx)
        # the result is back: from here on the entry must never be lost
        sys.stdout.write(f"returned {i} {bool(result.is_error)}\n")
        sys.stdout.flush()
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
