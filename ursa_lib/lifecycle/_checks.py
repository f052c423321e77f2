"""Checks of a stored session against its manifest and the catalog.

`verify_session` reads only: one listing of the session's prefix and, when a
catalog is given, its recording and modality rows. It never raises for what it
finds; every discrepancy is in the returned `SessionReport`, so a caller (the
CLI, a notebook, an asset check) decides what a failure means.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .._errors import ManifestError
from .._layout import SessionPrefix
from ..ingestion import Manifest

if TYPE_CHECKING:
    from ..catalog import Modality, Recording
    from ..store import ObjectInfo, Store

__all__ = [
    "Lister",
    "RowReader",
    "RowsReport",
    "SessionReport",
    "SizeMismatch",
    "stored_sha256",
    "verify_session",
]


class Lister(Protocol):
    """What a check needs of a store: a listing (`Store` is one)."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...


class RowReader(Protocol):
    """What a check needs of a catalog: two reads (`Catalog` is one)."""

    def get_recording(self, recording_hash: str) -> Recording | None: ...

    def list_modalities(self, where: Mapping[str, object]) -> list[Modality]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SizeMismatch:
    """A file stored with another size than its manifest lists."""

    rel_path: str
    expected: int
    stored: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RowsReport:
    """The catalog rows of one recording against what its manifest implies."""

    recording_row: bool
    """The recording row exists."""
    modalities_expected: tuple[str, ...]
    """One modality per worker directory of the manifest, sorted."""
    modalities_found: tuple[str, ...]
    """Modality rows stored for the recording, sorted."""

    @property
    def missing_modalities(self) -> tuple[str, ...]:
        found = set(self.modalities_found)
        return tuple(m for m in self.modalities_expected if m not in found)

    @property
    def complete(self) -> bool:
        """The recording row and exactly the expected modality rows exist."""
        return self.recording_row and self.modalities_found == self.modalities_expected


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionReport:
    """What one session prefix of the raw bucket holds, against its manifest.

    ``missing``, ``wrong_size`` and ``extra`` are empty when the objects match;
    the manifest object itself is never counted as extra.
    """

    session: SessionPrefix
    recording_hash: str
    files_expected: int
    bytes_expected: int
    files_stored: int
    """Objects under the prefix, the manifest excluded."""
    bytes_stored: int
    missing: tuple[str, ...]
    """Manifest paths with no object."""
    wrong_size: tuple[SizeMismatch, ...]
    extra: tuple[str, ...]
    """Relative paths of objects the manifest does not list."""
    rows: RowsReport | None = None
    """The catalog's rows, when a catalog was given."""

    @property
    def objects_match(self) -> bool:
        """Every manifest file is stored with its size, and nothing else is."""
        return not (self.missing or self.wrong_size or self.extra)

    @property
    def ok(self) -> bool:
        return self.objects_match and (self.rows is None or self.rows.complete)


def verify_session(
    raw: Lister,
    session: SessionPrefix,
    manifest: Manifest,
    *,
    catalog: RowReader | None = None,
) -> SessionReport:
    """Compare the objects under ``session`` with ``manifest`` and, given a
    catalog, the recording's rows with the manifest's modalities.

    To check a session against the manifest stored with it, pass
    ``load_stored_manifest(raw, session)``. Raises `ManifestError` only when the
    manifest is not augmented: it lists no files to compare with.
    """
    if manifest.files is None or manifest.recording_hash is None:
        raise ManifestError(
            f"the manifest of {session.key}/ is not augmented: it lists no files to verify; "
            "run `ursa manifest augment` on the session first"
        )
    head = session.key + "/"
    stored = {
        session.rel_path(info.key): info.size
        for info in raw.list(head)
        if info.key.startswith(head) and info.key != session.manifest_key
    }
    listed = {f.rel_path: f.size for f in manifest.files}
    missing = tuple(p for p in listed if p not in stored)
    wrong = tuple(
        SizeMismatch(rel_path=p, expected=size, stored=stored[p])
        for p, size in listed.items()
        if p in stored and stored[p] != size
    )
    return SessionReport(
        session=session,
        recording_hash=manifest.recording_hash,
        files_expected=len(listed),
        bytes_expected=manifest.total_bytes,
        files_stored=len(stored),
        bytes_stored=sum(stored.values()),
        missing=missing,
        wrong_size=wrong,
        extra=tuple(sorted(p for p in stored if p not in listed)),
        rows=None if catalog is None else _rows(catalog, manifest),
    )


def _rows(catalog: RowReader, manifest: Manifest) -> RowsReport:
    from ..ingestion import modality_names

    assert manifest.recording_hash is not None
    files = manifest.files or ()
    workers = sorted({f.rel_path.split("/", 1)[0] for f in files if "/" in f.rel_path})
    expected = sorted(name for name, _ in modality_names(workers).values())
    found = catalog.list_modalities({"recording_hash": manifest.recording_hash})
    return RowsReport(
        recording_row=catalog.get_recording(manifest.recording_hash) is not None,
        modalities_expected=tuple(expected),
        modalities_found=tuple(sorted(m.modality for m in found)),
    )


def stored_sha256(store: Store, key: str) -> str:
    """The sha256 of the bytes ``store`` holds at ``key``, read back in chunks: what
    its bytes are now, not what its metadata says they were."""
    digest = hashlib.sha256()
    with store.open(key) as reader:
        for chunk in reader.iter_chunks():
            digest.update(chunk)
    return digest.hexdigest()
