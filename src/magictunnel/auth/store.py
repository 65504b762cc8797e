"""Repository for the auth tables. No SQL outside this module."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update

from magictunnel.storage.engine import Storage
from magictunnel.storage.models.auth import AdminSessionRow, AdminUserRow, ApiKeyRow, NotificationRow


class AuthStore:
    """Tables from the `auth` Alembic branch; `Storage.start()` migrates them."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._session = storage.session

    # ---- users ---------------------------------------------------------------------------
    async def count_users(self) -> int:
        async with self._session() as s:
            return int(await s.scalar(select(func.count()).select_from(AdminUserRow)) or 0)

    async def get_user(self, username: str) -> AdminUserRow | None:
        async with self._session() as s:
            return await s.scalar(select(AdminUserRow).where(AdminUserRow.username == username))

    async def list_users(self) -> Sequence[AdminUserRow]:
        async with self._session() as s:
            return (await s.scalars(select(AdminUserRow).order_by(AdminUserRow.username))).all()

    async def create_user(
        self,
        username: str,
        password_hash: str | None,
        roles: list[str],
        provider: str = "local",
        must_change_password: bool = False,
    ) -> AdminUserRow:
        now = time.time()
        row = AdminUserRow(
            username=username,
            password_hash=password_hash,
            roles=list(roles),
            provider=provider,
            disabled=False,
            must_change_password=must_change_password,
            failed_attempts=0,
            created_at=now,
            updated_at=now,
        )
        async with self._session() as s:
            s.add(row)
        return row

    async def update_user(self, username: str, **fields: Any) -> bool:
        fields["updated_at"] = time.time()
        async with self._session() as s:
            result = await s.execute(
                update(AdminUserRow).where(AdminUserRow.username == username).values(**fields)
            )
            return (result.rowcount or 0) > 0

    async def delete_user(self, username: str) -> bool:
        async with self._session() as s:
            result = await s.execute(delete(AdminUserRow).where(AdminUserRow.username == username))
            return (result.rowcount or 0) > 0

    # ---- sessions ------------------------------------------------------------------------
    async def add_session(self, row: AdminSessionRow) -> None:
        async with self._session() as s:
            s.add(row)

    async def get_session(self, id_hash: str) -> AdminSessionRow | None:
        async with self._session() as s:
            return await s.get(AdminSessionRow, id_hash)

    async def revoke_session(self, id_hash: str) -> bool:
        async with self._session() as s:
            result = await s.execute(
                update(AdminSessionRow)
                .where(AdminSessionRow.id_hash == id_hash, AdminSessionRow.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            return (result.rowcount or 0) > 0

    async def revoke_user_sessions(self, username: str, keep: str | None = None) -> int:
        cond = [AdminSessionRow.username == username, AdminSessionRow.revoked_at.is_(None)]
        if keep:
            cond.append(AdminSessionRow.id_hash != keep)
        async with self._session() as s:
            result = await s.execute(update(AdminSessionRow).where(*cond).values(revoked_at=time.time()))
            return result.rowcount or 0

    async def purge_sessions(self, before: float) -> int:
        async with self._session() as s:
            result = await s.execute(delete(AdminSessionRow).where(AdminSessionRow.expires_at < before))
            return result.rowcount or 0

    # ---- API keys ------------------------------------------------------------------------
    async def add_api_key(self, row: ApiKeyRow) -> None:
        async with self._session() as s:
            s.add(row)

    async def get_api_key(self, key_id: str) -> ApiKeyRow | None:
        async with self._session() as s:
            return await s.get(ApiKeyRow, key_id)

    async def list_api_keys(self, client_id: str | None = None) -> Sequence[ApiKeyRow]:
        stmt = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
        if client_id:
            stmt = stmt.where(ApiKeyRow.client_id == client_id)
        async with self._session() as s:
            return (await s.scalars(stmt)).all()

    async def revoke_api_key(self, key_id: str) -> bool:
        async with self._session() as s:
            result = await s.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            return (result.rowcount or 0) > 0

    async def touch_api_key(self, key_id: str) -> None:
        async with self._session() as s:
            await s.execute(update(ApiKeyRow).where(ApiKeyRow.id == key_id).values(last_used_at=time.time()))

    # ---- notifications -------------------------------------------------------------------
    async def add_notification(
        self, severity: str, category: str, title: str, message: str, data: dict[str, Any] | None = None
    ) -> NotificationRow:
        row = NotificationRow(
            created_at=time.time(),
            severity=severity,
            category=category,
            title=title,
            message=message,
            data=data or {},
        )
        async with self._session() as s:
            s.add(row)
        return row

    async def list_notifications(
        self, unread_only: bool = False, limit: int = 100, offset: int = 0
    ) -> Sequence[NotificationRow]:
        stmt = select(NotificationRow).order_by(NotificationRow.id.desc()).limit(limit).offset(offset)
        if unread_only:
            stmt = stmt.where(NotificationRow.read_at.is_(None))
        async with self._session() as s:
            return (await s.scalars(stmt)).all()

    async def count_unread(self) -> int:
        async with self._session() as s:
            return int(
                await s.scalar(
                    select(func.count()).select_from(NotificationRow).where(NotificationRow.read_at.is_(None))
                )
                or 0
            )

    async def mark_read(self, notification_id: int) -> bool:
        async with self._session() as s:
            row = await s.get(NotificationRow, notification_id)
            if row is None:
                return False
            if row.read_at is None:
                row.read_at = time.time()
            return True

    async def mark_all_read(self) -> int:
        async with self._session() as s:
            result = await s.execute(
                update(NotificationRow).where(NotificationRow.read_at.is_(None)).values(read_at=time.time())
            )
            return result.rowcount or 0
