from __future__ import annotations

from pathlib import Path

import pytest

from tests.generators.specs import SpecsUnavailable, ensure_specs


@pytest.fixture(scope="session")
def spec_modules() -> Path:
    try:
        return ensure_specs()
    except SpecsUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def oas(spec_modules: Path) -> Path:
    return spec_modules / "@readme" / "oas-examples"
