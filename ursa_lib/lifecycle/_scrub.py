"""Scrub: walk both buckets against the catalog and report what does not add up.

One listing of ``recordings/`` and one of ``processed/`` (paged by the store,
so requests grow with the number of keys / 1000 — not one request per object),
one read of each catalog table, one GET per stored session manifest, and the
openings of processed assets. Findings, each typed:

* ``missing_object`` / ``wrong_size``: a catalogued session's manifest file,
  or a processed asset's object, is not stored with its size;
* ``unaccounted_object``: an object under ``recordings/`` or ``processed/``
  that no row accounts for (a file the manifest does not list, an asset
  version that no ``pipeline_assets`` row records, an asset of a modality
  that is not processed);
* ``uncatalogued_session``: a session in the raw bucket without its rows (an
  ingest killed before registration, a session never backfilled);
* ``unreadable_asset``: a processed asset that does not open;
* ``stuck_ingesting``: a modality row left ``ingesting`` by a dead process;
* ``bit_rot``: a sampled object whose bytes no longer hash to its sha256: a
  raw object of a catalogued session (against the sha256 ingest stored with
  it), or an object of a processed asset in use (against the sha256
  publication recorded in its ``pipeline_assets`` row);
* ``unfinished_delete``: an audited delete that was interrupted (its audit row
  is still ``started``); running the same delete again completes it.

An older version of an asset, which publication recorded (its
``pipeline_assets`` row lists its objects) and no modality row uses since a
newer version flipped it, is not a finding: a new version lands beside the
old by design, so readers of the old one are never broken. Its objects are
counted in the report (``superseded_objects``, ``superseded_bytes``).

Scrub never deletes. ``repair=True`` does only safe things: it backfills an
uncatalogued session whose stored manifest is complete, and marks stuck
``ingesting`` rows ``failed`` so that processing takes them over.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, TypeVar

from .._errors import (
    InvalidKeyError,
    ManifestError,
    ObjectChangedError,
    ObjectNotFoundError,
    UrsaError,
)
from .._layout import PROCESSED_ROOT, RECORDINGS_ROOT, AssetKey, SessionPrefix
from ..catalog import IngestionStatus
from ..ingestion import load_stored_manifest
from ..store import ObjectInfo
from ._checks import stored_sha256, verify_session

if TYPE_CHECKING:
    from ..catalog import Catalog, Modality, PipelineAsset, Recording
    from ..delivery import AssetSource
    from ..store import Store

__all__ = ["Finding", "ScrubReport", "scrub"]

_T = TypeVar("_T")

FindingKind = Literal[
    "missing_object",
    "wrong_size",
    "unaccounted_object",
    "uncatalogued_session",
    "unreadable_asset",
    "stuck_ingesting",
    "bit_rot",
    "unfinished_delete",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    kind: FindingKind
    uri: str
    """The object, prefix or row the finding is about."""
    detail: str
    recording_hash: str | None = None
    repaired: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ScrubReport:
    findings: tuple[Finding, ...]
    sessions: int
    raw_objects: int
    asset_objects: int
    rows_checked: int
    sampled_objects: int
    """Objects the sample re-hashed whole: not those gone or replaced while read,
    nor a raw object stored without its sha256."""
    superseded_objects: int = 0
    """Objects of older asset versions that publication recorded and no row uses
    any more: kept by design, never a finding."""
    superseded_bytes: int = 0
    requests: int
    """Store calls made (listings count once per page the store fetched lazily)."""
    seconds: float

    @property
    def clean(self) -> bool:
        return not self.findings

    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for finding in self.findings:
            counts[finding.kind] += 1
        return dict(counts)


class _Listed:
    """Objects already listed, served as a `Lister` for one session."""

    def __init__(self, objects: list[ObjectInfo]) -> None:
        self._objects = objects

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return (o for o in self._objects if o.key.startswith(prefix))


@dataclass
class _Walk:
    raw: Store
    assets: AssetSource | None
    catalog: Catalog
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0
    superseded: dict[str, int] = field(default_factory=dict)
    """Key → size of each object of an older, recorded asset version."""
    published: list[tuple[str, str, str]] = field(default_factory=list)
    """(key, sha256, recording hash) of each object of a processed asset in use that
    is stored at its published size: what a sample re-hashes."""

    def add(
        self,
        kind: FindingKind,
        uri: str,
        detail: str,
        rec: str | None = None,
        *,
        repaired: bool = False,
    ) -> None:
        self.findings.append(
            Finding(kind=kind, uri=uri, detail=detail, recording_hash=rec, repaired=repaired)
        )

    def listing(self, store: Store, root: str) -> list[ObjectInfo]:
        objects = list(store.list(root))
        self.requests += max(1, -(-len(objects) // 1000))
        return objects


def scrub(
    *,
    raw: Store,
    assets: AssetSource | None,
    catalog: Catalog,
    sample: float = 0.0,
    stale_after_s: float = 6 * 3600,
    repair: bool = False,
    seed: int | None = None,
) -> ScrubReport:
    """Check the archive (see the module docstring).

    ``sample`` is the fraction of stored objects (0 to 1) re-read and re-hashed:
    of the raw objects of catalogued sessions, and of the objects of the
    processed assets in use.
    """
    if not 0.0 <= sample <= 1.0:
        raise UrsaError(f"sample is a fraction of stored objects between 0 and 1, got {sample}")
    started = time.perf_counter()
    walk = _Walk(raw, assets, catalog)
    raw_objects = walk.listing(raw, RECORDINGS_ROOT)
    by_session: dict[SessionPrefix, list[ObjectInfo]] = defaultdict(list)
    for info in raw_objects:
        try:
            if "/" not in info.key.removeprefix(RECORDINGS_ROOT):
                raise InvalidKeyError(f"{info.key!r} lies beside the sessions, not in one")
            by_session[SessionPrefix.parse(info.key)].append(info)
        except InvalidKeyError:
            walk.add("unaccounted_object", raw.base_uri + info.key, "not under a session prefix")
    recordings = catalog.list_recordings()
    modalities = catalog.list_modalities()
    homes = _homes(raw, recordings, modalities, set(by_session))
    catalogued = {session for session in homes.values()}
    _check_sessions(walk, by_session, catalogued, repair)
    for session in sorted(catalogued - set(by_session), key=lambda s: s.key):
        walk.add("missing_object", raw.base_uri + session.key + "/", "no object of the session")
    sampled = _bit_rot(walk, by_session, catalogued, sample, seed)
    asset_objects = _check_assets(walk, modalities) if assets is not None else []
    sampled += _asset_bit_rot(walk, sample, seed)
    _stuck(walk, modalities, stale_after_s, repair)
    _unfinished_deletes(walk)
    return ScrubReport(
        findings=tuple(walk.findings),
        sessions=len(by_session),
        raw_objects=len(raw_objects),
        asset_objects=len(asset_objects),
        rows_checked=len(recordings) + len(modalities),
        sampled_objects=sampled,
        superseded_objects=len(walk.superseded),
        superseded_bytes=sum(walk.superseded.values()),
        requests=walk.requests,
        seconds=time.perf_counter() - started,
    )


def _homes(
    raw: Store,
    recordings: list[Recording],
    modalities: list[Modality],
    stored: set[SessionPrefix],
) -> dict[str, SessionPrefix]:
    """Each catalogued recording's session prefix. A recording counts only with its
    recording row (a registration killed before it leaves modality rows, and its
    session is uncatalogued); its prefix comes from its modality rows, or, for a
    session whose files lie in no stream folder (no modality row), from its own
    ``rec_id`` and hash: the stored prefix whose manifest is this recording's."""
    rows = {r.recording_hash: r for r in recordings}
    homes = {}
    for row in modalities:
        if row.recording_hash in rows and row.raw_storage_uri.startswith(raw.base_uri):
            key = row.raw_storage_uri[len(raw.base_uri) :]
            try:
                homes[row.recording_hash] = SessionPrefix.parse(key)
            except InvalidKeyError:
                continue
    for h, rec in rows.items():
        if h in homes:
            continue
        for session in SessionPrefix.candidates(rec.rec_id, h):
            if session not in stored:
                continue
            with contextlib.suppress(ObjectNotFoundError, ManifestError):
                if load_stored_manifest(raw, session).recording_hash == h:
                    homes[h] = session
                    break
    return homes


def _check_sessions(
    walk: _Walk,
    by_session: dict[SessionPrefix, list[ObjectInfo]],
    catalogued: set[SessionPrefix],
    repair: bool,
) -> None:
    base = walk.raw.base_uri
    for session, objects in sorted(by_session.items(), key=lambda kv: kv[0].key):
        walk.requests += 1
        try:
            manifest = load_stored_manifest(walk.raw, session)
        except ObjectNotFoundError:
            if session in catalogued:
                walk.add("missing_object", base + session.manifest_key, "the manifest is gone")
            else:
                walk.add("uncatalogued_session", base + session.key + "/", "no manifest, no rows")
            continue
        except ManifestError as exc:
            walk.add("missing_object", base + session.manifest_key, f"unreadable: {exc}")
            continue
        if session not in catalogued:
            missing = (
                len(verify_session(_Listed(objects), session, manifest).missing)
                if manifest.augmented
                else 0
            )
            _uncatalogued(walk, session, manifest.augmented, repair, missing)
            continue
        if not manifest.augmented:
            continue  # a backfilled legacy session: its objects are its listing
        report = verify_session(_Listed(objects), session, manifest)
        h = report.recording_hash
        for rel in report.missing:
            walk.add("missing_object", base + session.file_key(rel), "listed, not stored", h)
        for bad in report.wrong_size:
            detail = f"{bad.stored} bytes stored, {bad.expected} listed"
            walk.add("wrong_size", base + session.file_key(bad.rel_path), detail, h)
        for rel in report.extra:
            walk.add("unaccounted_object", base + session.file_key(rel), "not in the manifest", h)


def _uncatalogued(
    walk: _Walk, session: SessionPrefix, augmented: bool, repair: bool, missing: int
) -> None:
    uri = walk.raw.base_uri + session.key + "/"
    if missing:
        # An ingest that stopped before its last file: only the rig can finish it.
        walk.add(
            "uncatalogued_session",
            uri,
            f"no recording row; {missing} of its manifest's files are not stored: an ingest "
            "that did not finish; run it again from the rig (ursa ingest DIR). If the "
            "session changed since, its new ingest takes another prefix: delete this one's "
            "objects from the raw bucket",
        )
        return
    if repair and augmented:
        from ..ingestion import ingest_from_store

        try:
            done = ingest_from_store(
                session.rec_id, raw=walk.raw, catalog=walk.catalog, prefix=session.key
            )
        except UrsaError as exc:
            walk.add("uncatalogued_session", uri, f"backfill refused: {exc}")
            return
        walk.add("uncatalogued_session", uri, "backfilled", done.recording_hash, repaired=True)
        return
    hint = "backfill it (ursa backfill)" if augmented else "its manifest is not augmented"
    walk.add("uncatalogued_session", uri, f"no recording row; {hint}")


def _bit_rot(
    walk: _Walk,
    by_session: dict[SessionPrefix, list[ObjectInfo]],
    catalogued: set[SessionPrefix],
    sample: float,
    seed: int | None,
) -> int:
    if sample <= 0:
        return 0
    pool = [
        info
        for session in catalogued
        for info in by_session.get(session, ())
        if info.key != session.manifest_key
    ]
    hashed = 0
    for info in _sampled(pool, sample, seed, key=lambda i: i.key):
        walk.requests += 2  # the sha256 stored with it, then its bytes
        hashed += _rehashed(walk, walk.raw, info.key, None, "bytes no longer match sha256")
    return hashed


def _rehashed(
    walk: _Walk,
    store: Store,
    key: str,
    published: str | None,
    detail: str,
    rec: str | None = None,
) -> bool:
    """Re-hash the object at ``key`` against ``published``, or, if None, the
    sha256 stored with the object (one HEAD more), and report it ``bit_rot`` if
    they differ. False when it was not hashed whole: there is no sha256 to
    compare with, or the object went (``missing_object``) or was replaced (the
    next scrub reads it) since the listing."""
    try:
        sha256 = published or (store.head(key).metadata or {}).get("sha256")
        if sha256 is None:  # stored without one
            return False
        rotten = stored_sha256(store, key) != sha256
    except ObjectNotFoundError:  # removed since the listing (a delete at the same time)
        walk.add("missing_object", store.base_uri + key, _GONE, rec)
        return False
    except ObjectChangedError:  # replaced while read: the next scrub reads it whole
        return False
    if rotten:
        walk.add("bit_rot", store.base_uri + key, detail, rec)
    return True


_GONE = "gone since scrub listed it (a delete running at the same time does this too)"


def _size(pool: int, sample: float) -> int:
    """How many objects of ``pool`` a ``sample`` re-hashes: rounded up, so a small
    fraction of a small archive still re-hashes one object a run."""
    # Rounded first: 100 * 0.07 is 7.000000000000001 in floats, which is 7, not 8.
    return pool if sample >= 1 else math.ceil(round(pool * sample, 9))


def _sampled(pool: list[_T], sample: float, seed: int | None, key: Callable[[_T], str]) -> list[_T]:
    """A ``sample`` of ``pool``, in the order of ``key``: the same objects for the
    same ``seed`` and pool, whatever order the pool was listed in."""
    ordered = sorted(pool, key=key)
    if sample >= 1:
        return ordered
    return sorted(random.Random(seed).sample(ordered, _size(len(pool), sample)), key=key)


def _asset_bit_rot(walk: _Walk, sample: float, seed: int | None) -> int:
    """Re-hash a ``sample`` of the in-use assets' objects against their published sha256."""
    if sample <= 0 or walk.assets is None:
        return 0
    store, pool, hashed = walk.assets.store, walk.published, 0
    detail = "bytes no longer match the sha256 publication recorded"
    for key, sha256, rec in _sampled(pool, sample, seed, key=lambda p: p[0]):
        walk.requests += 1
        hashed += _rehashed(walk, store, key, sha256, detail, rec)
    return hashed


def _check_assets(walk: _Walk, modalities: list[Modality]) -> list[ObjectInfo]:
    assert walk.assets is not None
    store = walk.assets.store
    objects = walk.listing(store, PROCESSED_ROOT)
    sizes = {o.key: o.size for o in objects}
    accounted: set[str] = set()
    pipeline = {a.storage_uri: a for a in walk.catalog.list_pipeline_assets()}
    for row in modalities:
        if row.ingestion_status is not IngestionStatus.PROCESSED or row.storage_uri is None:
            continue
        asset = pipeline.get(row.storage_uri)
        if asset is None or not row.storage_uri.startswith(store.base_uri):
            detail = "no pipeline_assets row lists its objects"
            walk.add("unreadable_asset", row.storage_uri, detail, row.recording_hash)
            continue
        accounted.update(_asset_objects(walk, store, asset, sizes))
        problem = _opens(walk.assets, row)
        if problem is not None:
            walk.add("unreadable_asset", row.storage_uri, problem, row.recording_hash)
    used = {row.storage_uri for row in modalities}
    for uri, asset in pipeline.items():
        if uri in used or not uri.startswith(store.base_uri):
            continue
        for key, _, _ in _listed(asset):
            if key in sizes and key not in accounted:
                walk.superseded[key] = sizes[key]
    for key in sorted(set(sizes) - accounted - set(walk.superseded)):
        what = _asset_version(key)
        walk.add("unaccounted_object", store.base_uri + key, f"no processed row uses it ({what})")
    return objects


_VERSION = re.compile(r"[A-Za-z0-9_.]+-[0-9][A-Za-z0-9_.]*")
"""A converter version folder, ``<converter>-<version>`` (e.g. ``ursa.timeseries.edf-1``)."""


def _asset_version(key: str) -> str:
    """Which asset version an object under ``processed/`` belongs to, for the finding."""
    parts = key.removeprefix(PROCESSED_ROOT).split("/")
    versioned = len(parts) >= 4 and _VERSION.fullmatch(parts[2]) is not None
    folder = PROCESSED_ROOT + "/".join(parts[: 4 if versioned else 3])
    try:
        return f"asset version {AssetKey.parse(folder).version or 'unversioned'}"
    except InvalidKeyError:
        return "not an asset key"


def _opens(source: AssetSource, row: Modality) -> str | None:
    """Why the asset of ``row`` does not open, or None: a zero-length read at its start."""
    from ..delivery import Window, read_modality

    start = row.domain_intervals[0].start if row.domain_intervals else 0.0
    try:
        read_modality(source, row, Window(start, start))
    # Whatever a reader library raises on a damaged asset is the finding itself:
    # it is reported with its type and message, never swallowed.
    except Exception as exc:  # noqa: BLE001
        return f"does not open: {type(exc).__name__}: {exc}"
    return None


def _asset_objects(
    walk: _Walk, store: Store, asset: PipelineAsset, sizes: dict[str, int]
) -> list[str]:
    keys = []
    for key, size, sha256 in _listed(asset):
        keys.append(key)
        if sizes.get(key) == size and sha256 is not None:
            walk.published.append((key, sha256, asset.recording_hash))
        if key not in sizes:
            walk.add(
                "missing_object", store.base_uri + key, "asset object gone", asset.recording_hash
            )
        elif sizes[key] != size:
            detail = f"{sizes[key]} bytes stored, {size} published"
            walk.add("wrong_size", store.base_uri + key, detail, asset.recording_hash)
    return keys


def _listed(asset: PipelineAsset) -> list[tuple[str, object, str | None]]:
    """(key, size, sha256 or None) of each object publication recorded for ``asset``."""
    listed = asset.metadata.get("objects")
    entries = listed if isinstance(listed, list) else []
    return [
        (str(e.get("key")), e.get("size"), sha if isinstance(sha := e.get("sha256"), str) else None)
        for e in entries
        if isinstance(e, dict)
    ]


def _stuck(walk: _Walk, modalities: list[Modality], stale_after_s: float, repair: bool) -> None:
    from ..processing import lease_is_dead

    for row in modalities:
        if row.ingestion_status is not IngestionStatus.INGESTING:
            continue
        lease = row.metadata.get("processing_lease")
        if isinstance(lease, dict) and not lease_is_dead(lease, stale_after_s):
            continue
        uri = f"{row.recording_hash}/{row.modality}"
        if repair:
            walk.catalog.mark_failed(
                row.recording_hash, row.modality, reason="scrub: left ingesting by a dead process"
            )
            detail = "marked failed; processing takes it over"
            walk.add("stuck_ingesting", uri, detail, row.recording_hash, repaired=True)
        else:
            walk.add("stuck_ingesting", uri, "ingesting with a dead lease", row.recording_hash)


def _unfinished_deletes(walk: _Walk) -> None:
    from ..catalog import Deletion, DeletionStatus

    for row in walk.catalog.rows(Deletion, {"status": DeletionStatus.STARTED.value}):
        walk.add(
            "unfinished_delete",
            f"deletions/{row.deletion_id}",
            f"a delete of {row.rec_id} started and did not finish; run it again "
            f"(ursa delete --recording {row.recording_hash} --reason ... --yes)",
            row.recording_hash,
        )
