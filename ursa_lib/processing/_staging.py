"""All or nothing under ``out``: converters write into a staging directory that is renamed in."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._errors import ProcessingError

__all__ = ["directory_size", "remove_path", "staged", "total_size"]


@contextmanager
def staged(out: Path, names: tuple[str, ...]) -> Iterator[Path]:
    """Yield a private directory inside ``out``; on success move ``names`` from it into ``out``.

    Guarantees: an existing ``out/<name>`` is never overwritten (the call
    fails before any byte is written); on any exception, including one raised
    while moving, nothing named in ``names`` and no staging directory is left
    in ``out``.
    """
    existing = [n for n in names if (out / n).exists()]
    if existing:
        raise ProcessingError(
            f"{', '.join(str(out / n) for n in existing)} already exists; "
            "convert into an empty output directory"
        )
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    moved: list[Path] = []
    try:
        yield stage
        for name in names:
            src = stage / name
            if not src.exists():
                raise ProcessingError(f"converter wrote no {name!r}; this is a converter bug")
            dst = out / name
            os.rename(src, dst)
            moved.append(dst)
    except BaseException:
        for path in moved:
            remove_path(path)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def remove_path(path: Path) -> None:
    """Remove the file, link or folder at ``path``, as far as it goes (never raises)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def directory_size(path: Path) -> int:
    """Bytes of every file under ``path`` (or of ``path`` itself if it is a file)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def total_size(out: Path, names: tuple[str, ...]) -> int:
    """Bytes of the named entries under ``out``."""
    return sum(directory_size(out / n) for n in names)
