from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from magictunnel.storage import Storage
from magictunnel.storage import testing as pg


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = pg.run(pg.create_database())
    yield url
    pg.run(pg.drop_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'magictunnel.db'}"
    url = request.getfixturevalue("pg_url")
    pg.run(pg.truncate_all(url))
    return url


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    store = Storage(db_url)
    await store.start()
    yield store
    await store.close()
