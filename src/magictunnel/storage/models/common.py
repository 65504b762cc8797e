"""Tables shared by every domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from magictunnel.storage.base import Base, now


class Setting(Base):
    """A namespaced key/value store for small persistent state (settings, switches, caches)."""

    __tablename__ = "settings"

    namespace: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[float] = mapped_column(Float, default=now, onupdate=now)
