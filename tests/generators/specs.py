"""Real public API specs as test data, fetched from the npm registry at set-up (never committed).

`@readme/oas-examples` (Petstore and edge-case documents in OpenAPI 3.0, 3.1 and Swagger 2.0)
and `@octokit/openapi` (GitHub's full REST description) are installed with `npm` into a cache
directory outside the repository (`$MAGICTUNNEL_SPEC_CACHE`, default
`~/.cache/magictunnel-test-specs`), once; later runs reuse it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PACKAGES = ("@readme/oas-examples", "@octokit/openapi")


def cache_dir() -> Path:
    env = os.environ.get("MAGICTUNNEL_SPEC_CACHE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "magictunnel-test-specs"


class SpecsUnavailable(Exception):
    pass


def ensure_specs() -> Path:
    """The node_modules directory holding the spec packages; installs them when missing."""
    root = cache_dir()
    modules = root / "node_modules"
    if all((modules / p / "package.json").exists() for p in PACKAGES):
        return modules
    npm = shutil.which("npm")
    if npm is None:
        raise SpecsUnavailable("npm is not installed, so the public spec packages cannot be fetched")
    root.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(root),
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            *PACKAGES,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0 or not all((modules / p / "package.json").exists() for p in PACKAGES):
        raise SpecsUnavailable(
            f"npm install of {', '.join(PACKAGES)} failed (registry unreachable?): "
            f"{(proc.stderr or proc.stdout)[-500:]}"
        )
    return modules


def oas_examples() -> Path:
    return ensure_specs() / "@readme" / "oas-examples"


def github_spec() -> Path:
    return ensure_specs() / "@octokit" / "openapi" / "generated" / "api.github.com.json"
