"""Gateway feature: create the Storage and publish it at `gateway.extensions["storage"]`.

In `advanced` mode the database is opened and migrated at start-up (a failure stops the
gateway with the reason). In `proxy` mode nothing is opened unless a feature asks:
`await gateway.extensions["storage"].start()` is idempotent and safe to call from anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from magictunnel.config.models import RuntimeMode
from magictunnel.core.services import ServiceSpec
from magictunnel.storage.engine import Storage

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway


def install(gateway: Gateway) -> None:
    storage = Storage.from_config(gateway.config, gateway.base_dir)
    gateway.extensions["storage"] = storage

    async def start() -> Storage:
        if gateway.mode is RuntimeMode.ADVANCED:
            await storage.start()
        return storage

    gateway.services.add(
        ServiceSpec("storage", start, storage.close, description=f"database {storage.display_url}")
    )
