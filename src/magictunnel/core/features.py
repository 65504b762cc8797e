"""The feature packages the gateway installs, in order.

Each entry names an `install(gateway)` function that registers the feature's services
(with the runtime modes they run in), backends, catalog sources and pipeline middlewares.
Add a line here when a feature package lands; the gateway core does not import features
any other way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from magictunnel.core.gateway import Gateway

FEATURES: list[str] = [
    "magictunnel.discovery.feature:install",
    "magictunnel.upstream:install",
    "magictunnel.storage.feature:install",
    "magictunnel.security.feature:install",
    "magictunnel.auth.feature:install",  # after security: its audit records auth events
]


def load_features() -> list[Callable[[Gateway], Any]]:
    installs = []
    for dotted in FEATURES:
        module_name, _, attr = dotted.partition(":")
        module = importlib.import_module(module_name)
        installs.append(getattr(module, attr or "install"))
    return installs
