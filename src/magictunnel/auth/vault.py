"""The vault: secrets MagicTunnel holds, encrypted at rest.

The key comes from `MAGICTUNNEL_VAULT_KEY` (a Fernet key, urlsafe base64 of 32 bytes) or
from a key file created with mode 0600 on first start. Secrets live in one encrypted file
(every value is a Fernet token; names are stored in clear so they can be listed). Values
are never logged and never returned by `list()`; `redact()` gives the form API responses use.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

log = logging.getLogger("magictunnel.auth.vault")

KEY_ENV = "MAGICTUNNEL_VAULT_KEY"
REDACTED = "********"


class VaultError(Exception):
    """The vault cannot be opened or written; the message says why and where."""


def load_or_create_key(key_file: Path) -> bytes:
    env_key = os.environ.get(KEY_ENV)
    if env_key:
        key = env_key.strip().encode()
        _check_key(key, f"environment variable {KEY_ENV}")
        return key
    if key_file.exists():
        mode = key_file.stat().st_mode & 0o777
        if mode & 0o077:
            raise VaultError(
                f"{key_file}: vault key file is readable by others (mode {mode:o}); run chmod 600 {key_file}"
            )
        key = key_file.read_bytes().strip()
        _check_key(key, str(key_file))
        return key
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    log.info("created vault key file %s (mode 600)", key_file)
    return key


def _check_key(key: bytes, where: str) -> None:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise VaultError(
            f"{where}: not a valid vault key (expected urlsafe base64 of 32 bytes, "
            f"e.g. from `python -c 'from cryptography.fernet import Fernet; "
            f"print(Fernet.generate_key().decode())'`)"
        ) from None


class Vault:
    """Named secrets encrypted with Fernet (AES-128-CBC + HMAC-SHA256)."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._fernet = Fernet(key)
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        self._load()

    @classmethod
    def open(cls, data_dir: Path, key_file: Path | None = None, path: Path | None = None) -> Vault:
        key = load_or_create_key(key_file or data_dir / "vault.key")
        return cls(path or data_dir / "vault.json", key)

    def __repr__(self) -> str:
        return f"Vault({self.path}, {len(self._entries)} secrets)"

    # ---- persistence ---------------------------------------------------------------------
    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise VaultError(f"{self.path}: cannot read vault file: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("secrets"), dict):
            raise VaultError(f"{self.path}: not a MagicTunnel vault file")
        self._entries = data["secrets"]
        if self._entries:
            probe = next(iter(self._entries.values()))
            try:
                self._fernet.decrypt(probe["token"].encode())
            except (InvalidToken, KeyError, AttributeError):
                raise VaultError(f"{self.path}: the vault key does not match this vault file") from None

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"version": 1, "secrets": self._entries}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    # ---- API -----------------------------------------------------------------------------
    def set(self, name: str, value: str, description: str = "") -> None:
        if not name or len(name) > 200:
            raise ValueError("secret name must be 1-200 characters")
        if not isinstance(value, str):
            raise ValueError("secret value must be a string")
        token = self._fernet.encrypt(value.encode()).decode()
        with self._lock:
            previous = self._entries.get(name, {})
            self._entries[name] = {
                "token": token,
                "description": description or previous.get("description", ""),
                "created_at": previous.get("created_at", time.time()),
                "updated_at": time.time(),
            }
            self._save()

    def get(self, name: str) -> str | None:
        entry = self._entries.get(name)
        if entry is None:
            return None
        try:
            return self._fernet.decrypt(entry["token"].encode()).decode()
        except InvalidToken:
            raise VaultError(f"vault secret {name!r} cannot be decrypted with the current key") from None

    def get_secret(self, name: str) -> str | None:
        """The interface other features use (the http backend injects credentials through it)."""
        return self.get(name)

    def delete(self, name: str) -> bool:
        with self._lock:
            if self._entries.pop(name, None) is None:
                return False
            self._save()
            return True

    def names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self._entries if n.startswith(prefix))

    def list(self, include_system: bool = False) -> list[dict[str, Any]]:
        """Metadata only; values are redacted."""
        return [
            {
                "name": n,
                "value": REDACTED,
                "description": e.get("description", ""),
                "created_at": e.get("created_at"),
                "updated_at": e.get("updated_at"),
            }
            for n, e in sorted(self._entries.items())
            if include_system or not n.startswith("__")
        ]

    def get_json(self, name: str) -> Any:
        raw = self.get(name)
        return None if raw is None else json.loads(raw)

    def set_json(self, name: str, value: Any, description: str = "") -> None:
        self.set(name, json.dumps(value), description)

    def ensure_random(self, name: str, nbytes: int = 32) -> str:
        """A system secret generated once and kept (e.g. the session signing key)."""
        current = self.get(name)
        if current is None:
            current = os.urandom(nbytes).hex()
            self.set(name, current, "generated by MagicTunnel")
        return current


def redact(value: Any, secret_keys: tuple[str, ...] = ("secret", "password", "token", "key")) -> Any:
    """Replace values of secret-looking keys in a JSON-like structure."""
    if isinstance(value, dict):
        return {
            k: (
                REDACTED
                if isinstance(k, str)
                and any(s in k.lower() for s in secret_keys)
                and v not in (None, "")
                and not isinstance(v, dict | list)
                else redact(v, secret_keys)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, secret_keys) for v in value]
    return value
