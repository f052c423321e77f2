"""Self-describing downloads: a downloaded folder carries its catalog rows, and
can be reopened offline as a read-only local source.

`download` (with ``related=True``, the default) writes, beside the bytes, a
hidden ``.ursa/`` folder at the root of the destination:

* ``.ursa/rows/<table>.jsonl`` — one JSON row per line, for every recording
  downloaded: its ``recordings`` row, ``participants``, the ``modalities``
  downloaded, ``events``, ``pipeline_assets`` and ``embeddings``;
* ``.ursa/objects.jsonl`` — each downloaded file: the bucket and key it came
  from, its path under the destination, size and sha256 (when recorded);
* ``.ursa/manifests/<key>`` — the stored manifest of each raw session, the
  truth raw files are verified against.

Several downloads into one folder merge (a row or file by its key, the latest
wins); a file once recorded stays recorded, but one: a processed asset's file
that an earlier download wrote inside an asset folder this download writes
again, and that the asset's current publication no longer lists (a Lance
table made again names its files afresh; a new converter version), is
removed with its record, so that the folder verifies. Hidden files are not data:
`verify_download` checks no file of ``.ursa/``, and reads ``objects.jsonl`` to
name the recorded files that are gone and to tell how a modality whose files
are all gone was delivered.

`open_local` turns such a folder into a `LocalProfile` under
``.ursa/profile/``: its buckets hold the downloaded files (hard links, a copy
where links are impossible) at their original keys, and its catalog holds the
rows with their URIs pointed at those buckets. `query`, `materialize` and
`read` then work offline on exactly what was downloaded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._config import BucketKind, LocalProfile
from .._errors import InvalidValueError
from .._layout import PROCESSED_ROOT, RECORDINGS_ROOT
from ..catalog import (
    Embedding,
    Event,
    Modality,
    Participant,
    PipelineAsset,
    Recording,
    Row,
)

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..store import Store
    from ._query import QueryResult

__all__ = ["RELATED_DIR", "open_local_profile", "recorded_origins", "write_related"]

RELATED_DIR = ".ursa"
_TABLES: tuple[type[Row], ...] = (Participant, Recording, Modality, Event, PipelineAsset, Embedding)


@contextlib.contextmanager
def updating(path: Path) -> Iterator[None]:
    """Hold the lock of the JSON-lines file ``path`` (its hidden ``.<name>.lock``
    sibling), so that downloads into one folder at once, in other processes too,
    read, change and write it one at a time and none loses another's lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield  # the lock goes with the file's closing


def _merge_jsonl(path: Path, lines: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """Merge ``(key, record)`` into the JSON-lines file ``path``, atomically."""
    with updating(path):
        merged = _records(path)
        for key, record in lines:
            merged[key] = {"_key": key, **record}
        _write_jsonl(path, merged)


def _records(path: Path) -> dict[str, dict[str, Any]]:
    """The records of the JSON-lines file ``path`` by their ``_key`` (none if absent);
    read under `updating`."""
    records: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            record = json.loads(line)
            records[record["_key"]] = record
    return records


def _write_jsonl(path: Path, records: dict[str, dict[str, Any]]) -> None:
    """Write ``records`` (by key, each holding its ``_key``) as the JSON-lines file
    ``path``, in key order: into a temporary sibling, then renamed over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(
        "".join(json.dumps(r, sort_keys=True) + "\n" for _, r in sorted(records.items()))
    )
    tmp.replace(path)


def write_related(
    root: Path,
    results: list[QueryResult],
    files: Iterable[tuple[Store, str, Path, int, str | None]],
    manifests: Iterable[tuple[Store, str]],
    catalog: Catalog | None,
) -> Path:
    """Write the ``.ursa/`` folder of a download (see the module docstring).

    ``files`` are ``(store, key, dest, size, sha256)``; ``manifests`` the raw
    sessions' ``(store, manifest key)``. Without a catalog, only the rows the
    results carry (recordings, modalities) are written.
    """
    meta = root / RELATED_DIR
    rows: dict[type[Row], list[Row]] = {model: [] for model in _TABLES}
    hashes = [r.recording_hash for r in results]
    for result in results:
        rows[Recording].append(result.recording)
        rows[Modality].extend(result.modalities.values())
    if catalog is not None and hashes:
        pids = sorted({p for r in results for p in r.recording.participant_ids})
        rows[Participant] = list(catalog.rows_in(Participant, "participant_id", pids))
        rows[Event] = list(catalog.rows_in(Event, "recording_hash", hashes))
        rows[Embedding] = list(catalog.rows_in(Embedding, "recording_hash", hashes))
        wanted = {(r.recording_hash, m) for r in results for m in r.modalities}
        rows[PipelineAsset] = [
            a
            for a in catalog.rows_in(PipelineAsset, "recording_hash", hashes)
            if (a.recording_hash, a.modality) in wanted
        ]
    for model, items in rows.items():
        _merge_jsonl(
            meta / "rows" / f"{model.__table__}.jsonl",
            (("/".join(map(str, row.key())), row.model_dump(mode="json")) for row in items),
        )
    files = list(files)
    written = [(key, dest) for _, key, dest, _, _ in files]
    _prune_replaced(root, meta / "objects.jsonl", written)
    _merge_jsonl(
        meta / "objects.jsonl",
        (
            (
                dest.relative_to(root).as_posix(),
                {
                    "base_uri": store.base_uri,
                    "key": key,
                    "path": dest.relative_to(root).as_posix(),
                    "size": size,
                    "sha256": sha,
                },
            )
            for store, key, dest, size, sha in files
        ),
    )
    for store, key in manifests:
        target = meta / "manifests" / key
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.get(key))
        _merge_jsonl(
            meta / "manifest_sources.jsonl", [(key, {"base_uri": store.base_uri, "key": key})]
        )
    return meta


def _asset_folder(key: str, dest: Path) -> Path | None:
    """Where the processed asset that ``key`` (written to ``dest``) belongs to was
    written: ``…/eeg.zarr`` for ``processed/<hash>/eeg/<version>/eeg.zarr/…``."""
    parts = key.removeprefix(PROCESSED_ROOT).split("/")
    if not key.startswith(PROCESSED_ROOT) or len(parts) <= 4:
        return None  # not processed, or a one-file asset (an MP4)
    inner = len(parts) - 4  # the parts below the asset's own folder
    return dest.parents[inner - 1]


def _prune_replaced(root: Path, path: Path, written: list[tuple[str, Path]]) -> None:
    """Remove the files recorded in ``path`` that lie in an asset folder written
    again now and that this download did not write (see the module docstring)."""
    folders = {folder for key, dest in written if (folder := _asset_folder(key, dest))}
    if not folders or not path.exists():
        return
    now = {dest.relative_to(root).as_posix() for _, dest in written}
    with updating(path):
        records = _records(path)
        stale = [
            key
            for key, record in records.items()
            if key not in now
            and str(record.get("key", "")).startswith(PROCESSED_ROOT)
            and any((root / key).is_relative_to(folder) for folder in folders)
        ]
        for key in stale:
            (root / key).unlink(missing_ok=True)
            del records[key]
        if stale:
            _write_jsonl(path, records)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        record.pop("_key", None)
        out.append(record)
    return out


def recorded_origins(root: Path) -> dict[Path, str | None]:
    """Every file the downloads into ``root`` wrote, by their record
    (``.ursa/objects.jsonl``), to the URI of the object it came from (None where the
    record does not say); empty when they kept none (``related=False``)."""
    return {
        root / entry["path"]: (
            entry["base_uri"] + entry["key"] if entry.get("base_uri") and entry.get("key") else None
        )
        for entry in _read_jsonl(root / RELATED_DIR / "objects.jsonl")
    }


def _place(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or links not allowed: a copy serves as well
        shutil.copy2(source, target)


def open_local_profile(folder: Path) -> LocalProfile:
    """Build (afresh) the local profile of a self-describing folder and return it."""
    from ..catalog import Catalog

    folder = Path(folder).resolve()
    meta = folder / RELATED_DIR
    if not (meta / "rows" / "recordings.jsonl").is_file() and (meta / "clips.jsonl").is_file():
        raise InvalidValueError(
            f"{folder} is a time-window download, and clipped downloads carry no catalog "
            "rows: open its files in place (zarr, lancedb, an MP4 reader), or download "
            "without a time window to open it offline"
        )
    if not (meta / "rows" / "recordings.jsonl").is_file():
        raise InvalidValueError(
            f"{folder} carries no catalog rows ({meta}/rows/recordings.jsonl is missing); "
            "download it again with related=True"
        )
    home = meta / "profile"
    shutil.rmtree(home, ignore_errors=True)
    profile = LocalProfile(name="downloaded", root=home)
    objects = _read_jsonl(meta / "objects.jsonl")
    sources = _read_jsonl(meta / "manifest_sources.jsonl")
    # Each original bucket maps onto the local bucket of its kind: raw sessions
    # live under recordings/, processed assets under processed/.
    kinds: dict[str, BucketKind] = {}
    for entry in [*objects, *sources]:
        kinds[entry["base_uri"]] = (
            "raw" if str(entry["key"]).startswith(RECORDINGS_ROOT) else "assets"
        )
    for entry in objects:
        target = profile.bucket_path(kinds[entry["base_uri"]]) / entry["key"]
        _place(folder / entry["path"], target)
    for entry in sources:
        target = profile.bucket_path(kinds[entry["base_uri"]]) / entry["key"]
        _place(meta / "manifests" / entry["key"], target)
    for kind in ("raw", "assets"):
        profile.bucket_path(kind).mkdir(parents=True, exist_ok=True)

    def local_uri(uri: str, record: dict[str, Any]) -> str:
        for base, kind in kinds.items():
            if uri.startswith(base):
                return profile.bucket_uri(kind) + uri[len(base) :]
        # A bucket none of whose objects was downloaded (only the processed assets,
        # say, and the rows still name the raw segments): its root is where the
        # key the layout gives the row begins. Nothing of it is here, as offline.
        found = _bucket_of(uri, record)
        if found is None:
            return uri
        kinds[found[0]] = found[1]
        return profile.bucket_uri(found[1]) + uri[len(found[0]) :]

    catalog = Catalog.open(profile, writable=True)
    for model in _TABLES:
        records = _read_jsonl(meta / "rows" / f"{model.__table__}.jsonl")
        for record in records:
            for field in ("raw_storage_uri", "storage_uri"):
                if isinstance(record.get(field), str):
                    record[field] = local_uri(record[field], record)
        if records:
            catalog.upsert_many(model.model_validate(r) for r in records)
    return profile


def _bucket_of(uri: str, record: dict[str, Any]) -> tuple[str, BucketKind] | None:
    """The bucket root ``uri`` (of the catalog row ``record``) is under, and its kind,
    from the layout's keys: ``processed/<recording_hash>/…`` in the assets bucket,
    ``recordings/<session>/<worker>/`` in the raw bucket. None for neither."""
    assets = f"/{PROCESSED_ROOT}{record.get('recording_hash')}/"
    at = uri.rfind(assets)
    if at >= 0:
        return uri[: at + 1], "assets"
    parts = uri.rstrip("/").rsplit("/", 3)
    if len(parts) == 4 and f"{parts[1]}/" == RECORDINGS_ROOT:
        return parts[0] + "/", "raw"
    return None
