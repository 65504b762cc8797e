"""Atomic edits of the external servers file (`external-mcp-servers.yaml`).

A change is written to a temporary file in the same directory, flushed and fsynced, then
renamed over the original, so a crash leaves either the old file or the new one. Keys
outside the servers mapping are kept. A `.json` file (a pasted Claude Desktop config) is
written back as JSON.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from magictunnel.config.errors import ConfigError
from magictunnel.config.loader import read_yaml_mapping
from magictunnel.upstream.config import ServerSpec


class ServersFile:
    def __init__(self, path: Path, key: str = "mcpServers") -> None:
        self.path = path
        self.key = key

    def read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        return read_yaml_mapping(self.path)

    def _servers(self, data: dict[str, Any]) -> dict[str, Any]:
        for key in ("mcpServers", "servers", "mcp_servers"):
            if key in data:
                self.key = key
                break
        servers = data.get(self.key)
        if servers is None:
            servers = {}
            data[self.key] = servers
        if not isinstance(servers, dict):
            raise ConfigError([f"{self.path}: {self.key}: expected a mapping of server name to settings"])
        return servers

    def upsert(self, spec: ServerSpec, entry: dict[str, Any] | None = None) -> None:
        """Write one server; `entry` is the user's own mapping (keeps `${VAR}` unexpanded)."""
        data = self.read()
        self._servers(data)[spec.name] = entry if entry is not None else spec.to_entry()
        self.write(data)

    def remove(self, name: str) -> bool:
        data = self.read()
        servers = self._servers(data)
        if name not in servers:
            return False
        del servers[name]
        self.write(data)
        return True

    def write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.suffix == ".json":
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        else:
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=str(self.path.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if self.path.exists():
                os.chmod(tmp, self.path.stat().st_mode & 0o777)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
