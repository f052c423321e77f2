"""Publication: a recording's raw segments → processed assets, atomically.

For each modality of a recording, in this order:

1. The stream is described (the manifest's ``streams`` section, else its
   file extensions) and its converter resolved. An undescribed stream whose
   format cannot be inferred is reported and left ``raw``.
2. If the modality is already processed by this converter version from the
   same inputs (its ``pipeline_assets`` row says so), nothing happens, unless
   its asset is damaged: an object that publication recorded is gone or has
   another size (one listing of the asset's folder). A damaged asset is made
   again, in its own folder (readers of it already fail), and the objects the
   old publication listed that the new one does not are removed after the
   flip; its outcome is ``processed`` with the damage as its reason.
3. The row takes a lease: ``raw``/``failed`` → ``ingesting``. A row left
   ``ingesting`` by a process that died (same host, pid gone), by this same
   process (a retried step), or whose lease is older than ``stale_after_s``
   is taken over. A processed row being re-made by a new converter version
   stays ``processed`` — readers keep the old asset — until step 6.
4. The segments are fetched into a scratch folder, each verified against the
   manifest's sha256, and the converter writes the asset there.
5. Every output file is uploaded under
   ``processed/<hash>/<modality>/<converter>-<version>/`` — a folder per
   converter version, so an older asset that readers may be reading is never
   touched — each object carrying its sha256.
6. Only then a ``pipeline_assets`` row records converter, version, input
   digest and every output object (key, size, sha256), the events of an
   events stream become catalog rows, and the modality row flips to
   ``processed`` pointing at the new asset.

A permanent error (an `UrsaError` that is not transient) marks the modality
``failed`` with its message and removes what step 5 uploaded; the other
modalities go on. A transient store error propagates (after the store's own
retries) so the orchestrator can run the step again; the lease is this
process's, so the retry takes it over.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._errors import InvalidTransitionError, ObjectStoreTransientError, UrsaError
from .._layout import AssetKey, SessionPrefix
from ..catalog import Catalog, Event, IngestionStatus, Interval, Modality, PipelineAsset
from ..ingestion import FileEntry, FileUpload, Manifest, load_stored_manifest, transfer_files
from ..store import Store
from ._conversion import ConversionOutput, ConversionRequest, Segment
from ._describe import StreamDescription, infer_description, parse_description
from ._lease import lease_for, lease_is_dead
from ._outcomes import ModalityOutcome, ProcessingResult
from ._registry import Converter, ConverterRegistry, default_registry

__all__ = ["ModalityOutcome", "ProcessingResult", "process_recording"]

log = logging.getLogger("ursa.processing")

LEASE_KEY = "processing_lease"
"""Key of a modality row's metadata that names the process working on it."""

FETCH_CONCURRENCY = 4
"""Raw segments downloaded at once for a conversion (uploads of its output: the same)."""


def process_recording(
    recording_hash: str,
    *,
    raw: Store,
    assets: Store,
    catalog: Catalog,
    registry: ConverterRegistry | None = None,
    modalities: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    workdir: Path | None = None,
    stale_after_s: float = 6 * 3600,
    again: bool = False,
) -> ProcessingResult:
    """Process the recording's modalities (all, those named, or those of ``kinds``).

    Promises: no reader ever sees a modality row that points at a partly
    written asset; running it again with the same converter versions changes
    nothing (but makes a damaged asset again); ``raw_storage_uri`` is never
    changed. ``again=True`` makes every chosen asset again, damaged or not
    (bytes rotted at their size, which a listing cannot see). See the module
    docstring.
    """
    registry = registry or default_registry()
    wanted = set(modalities) if modalities is not None else None
    kind_filter = {str(k) for k in kinds} if kinds is not None else None
    recording = catalog.get_recording(recording_hash)
    start = (
        datetime.fromtimestamp(recording.start_time / 1e9, tz=UTC)
        if recording is not None
        else None
    )
    manifests: dict[SessionPrefix, Manifest] = {}
    outcomes = []
    for row in sorted(catalog.list_modalities({"recording_hash": recording_hash}), key=_name):
        if wanted is not None and row.modality not in wanted:
            continue
        session, worker_dir = _raw_home(raw, row)
        if session not in manifests:
            manifests[session] = load_stored_manifest(raw, session)
        job = _Job(row, session, worker_dir, manifests[session], raw, assets, catalog, start)
        try:
            described = job.describe()
        except UrsaError as exc:
            outcomes.append(job.fail(None, None, str(exc), stale_after_s))
            continue
        if kind_filter is not None and (
            described is None or str(described.kind) not in kind_filter
        ):
            continue
        outcomes.append(job.run(described, registry, workdir, stale_after_s, again))
    return ProcessingResult(recording_hash, tuple(outcomes))


def _name(row: Modality) -> str:
    return row.modality


def _raw_home(raw: Store, row: Modality) -> tuple[SessionPrefix, str]:
    if not row.raw_storage_uri.startswith(raw.base_uri):
        raise UrsaError(
            f"modality {row.modality} of {row.recording_hash}: {row.raw_storage_uri} is not "
            f"in the raw bucket this call reads ({raw.base_uri})"
        )
    key = row.raw_storage_uri[len(raw.base_uri) :].rstrip("/")
    session = SessionPrefix.parse(key)
    return session, session.rel_path(key)


def _version_folder(converter: Converter) -> str:
    return f"{converter.name}-{converter.version}"


def _asset_id(row: Modality, converter: Converter) -> str:
    return f"{row.recording_hash[:16]}.{row.modality}.{_version_folder(converter)}"[:128]


@dataclass
class _Job:
    row: Modality
    session: SessionPrefix
    worker_dir: str
    manifest: Manifest
    raw: Store
    assets: Store
    catalog: Catalog
    session_start: datetime | None

    @property
    def files(self) -> list[FileEntry]:
        head = self.worker_dir + "/"
        found = (f for f in self.manifest.files or () if f.rel_path.startswith(head))
        return sorted(found, key=lambda f: f.rel_path)

    def describe(self) -> StreamDescription | None:
        declared = self.manifest.streams.get(self.worker_dir)
        if declared is not None:
            return parse_description(declared, where=self.worker_dir)
        return infer_description(self.worker_dir, [f.rel_path for f in self.files])

    def input_digest(self, converter: Converter, described: StreamDescription) -> str:
        digest = hashlib.sha256()
        digest.update(f"{converter.name}\0{converter.version}\0".encode())
        digest.update(described.model_dump_json().encode())
        for f in self.files:
            digest.update(f"{f.rel_path}\0{f.size}\0{f.sha256}\n".encode())
        return digest.hexdigest()

    def current(self) -> Modality:
        return self.catalog.get_modality(self.row.recording_hash, self.row.modality) or self.row

    def run(
        self,
        described: StreamDescription | None,
        registry: ConverterRegistry,
        workdir: Path | None,
        stale_after_s: float,
        again: bool = False,
    ) -> ModalityOutcome:
        name = self.row.modality
        if described is None:
            reason = (
                f"{self.worker_dir}/ has no stream description and its format cannot be "
                "inferred from its file names; describe it in the manifest's streams section"
            )
            log.warning("modality %s of %s left raw: %s", name, self.row.recording_hash, reason)
            return ModalityOutcome(modality=name, outcome="undescribed", reason=reason)
        try:
            converter = registry.resolve(described.kind, described.format)
        except UrsaError as exc:
            # The registry knows the format, not which stream asked: name the folder.
            return self.fail(described, None, f"{self.worker_dir}/: {exc}", stale_after_s)
        digest = self.input_digest(converter, described)
        current = self.current()
        published = self._published(current, converter, digest)
        damage = self._damage(published) if published is not None else []
        remake = published is not None and (bool(damage) or again)
        if published is not None and not remake:
            self._release_dead_lease(current, stale_after_s)
            return ModalityOutcome(
                modality=name,
                outcome="unchanged",
                kind=str(described.kind),
                converter=converter.name,
                converter_version=converter.version,
                storage_uri=current.storage_uri,
            )
        if damage:
            log.warning(
                "modality %s of %s: its asset is damaged (%s); making it again",
                name,
                current.recording_hash,
                damage[0] + (f" and {len(damage) - 1} more" if len(damage) > 1 else ""),
            )
        # A damaged asset is remade in its own folder: a failed attempt must not
        # remove what the catalog still lists there.
        keep = {key for key, _ in _recorded(published)} if remake else set()
        if not self._take_lease(current, stale_after_s):
            return ModalityOutcome(
                modality=name,
                outcome="busy",
                kind=str(described.kind),
                reason="another live process holds this modality's processing lease",
            )
        started = time.perf_counter()
        uploaded: list[str] = []
        try:
            with tempfile.TemporaryDirectory(prefix="ursa-process-", dir=workdir) as scratch:
                out = Path(scratch) / "out"
                out.mkdir()
                request = ConversionRequest(
                    segments=self._fetch(Path(scratch) / "in"),
                    description=described,
                    modality=name,
                    out=out,
                    session_start=self.session_start,
                )
                output = converter.convert(request)
                asset = AssetKey(
                    self.row.recording_hash, name, output.asset, _version_folder(converter)
                )
                objects = self._upload(out, output, asset, uploaded)
        except ObjectStoreTransientError:
            raise
        except UrsaError as exc:
            self._discard([key for key in uploaded if key not in keep])
            return self.fail(described, converter, str(exc), stale_after_s, leased=True)
        except Exception as exc:
            # Not a refusal the converter made: a bug, or a library's own error on a
            # file. It goes on whole, but first the row leaves `ingesting` (failed,
            # with the error), so that no lease of this process holds it for hours
            # against a retry on another machine.
            self._discard([key for key in uploaded if key not in keep])
            reason = (
                f"{converter.name} {converter.version} raised {type(exc).__name__}: {exc} "
                "(a converter bug, or a file its library cannot read; see the traceback)"
            )
            self.fail(described, converter, reason, stale_after_s, leased=True)
            raise
        outcome = self._publish(described, converter, digest, asset, output, objects, started)
        if remake:
            # What the old publication listed, and what a remake killed before its
            # flip left in the folder (Lance names its files afresh), is not this one.
            written = {str(o["key"]) for o in objects}
            left = {info.key for info in self.assets.list(asset.parent)}
            self._discard([key for key in sorted(keep | left) if key not in written])
            reason = f"its asset was damaged ({'; '.join(damage)})" if damage else "made again"
            outcome = replace(outcome, reason=reason)
        return outcome

    def _release_dead_lease(self, current: Modality, stale_after_s: float) -> None:
        """Drop the lease a dead process left on a processed row (killed while it made
        the asset again, after the asset was whole): another host would else wait
        ``stale_after_s`` on it."""
        held = current.metadata.get(LEASE_KEY)
        if isinstance(held, dict) and lease_is_dead(held, stale_after_s):
            released = {k: v for k, v in current.metadata.items() if k != LEASE_KEY}
            with contextlib.suppress(InvalidTransitionError):
                self.catalog.take_over(current, metadata=released)

    def _published(
        self, current: Modality, converter: Converter, digest: str
    ) -> PipelineAsset | None:
        """The publication of this converter version from these inputs that the row
        points at, or None."""
        if current.ingestion_status is not IngestionStatus.PROCESSED:
            return None
        stored = self.catalog.get_pipeline_asset(_asset_id(current, converter))
        if (
            stored is None
            or stored.metadata.get("input_digest") != digest
            or stored.storage_uri != current.storage_uri
        ):
            return None
        return stored

    def _damage(self, published: PipelineAsset) -> list[str]:
        """What is wrong with the objects ``published`` recorded, from one listing of
        its folder: each one gone, or stored with another size."""
        recorded = _recorded(published)
        uri = published.storage_uri or ""
        if not recorded or not uri.startswith(self.assets.base_uri):
            return []
        folder = AssetKey.parse(uri.removeprefix(self.assets.base_uri)).parent
        stored = {info.key: info.size for info in self.assets.list(folder)}
        damage = []
        for key, size in recorded:
            if key not in stored:
                damage.append(f"{key.removeprefix(folder)} is gone")
            elif stored[key] != size:
                damage.append(f"{key.removeprefix(folder)} is {stored[key]} bytes, not {size}")
        return damage

    def _take_lease(self, current: Modality, stale_after_s: float) -> bool:
        status = current.ingestion_status
        metadata = {**current.metadata, LEASE_KEY: lease_for()}
        if status is IngestionStatus.PROCESSED:
            # A new version, or a damaged asset made again: the row stays processed
            # (readers keep the asset it points at) under this process's lease, so
            # that two processes never make the same asset at once.
            held = current.metadata.get(LEASE_KEY)
            if isinstance(held, dict) and not lease_is_dead(held, stale_after_s):
                return False
            try:
                self.catalog.take_over(current, metadata=metadata)
            except InvalidTransitionError:
                return False  # another process took it a moment before
            return True
        if status is IngestionStatus.INGESTING:
            held = current.metadata.get(LEASE_KEY)
            if isinstance(held, dict) and not lease_is_dead(held, stale_after_s):
                return False
            self.catalog.take_over(current, metadata=metadata)
            return True
        self.catalog.start_ingesting(current.recording_hash, current.modality, metadata=metadata)
        return True

    def _fetch(self, folder: Path) -> list[Segment]:
        """The stream's segments into ``folder``, four at a time, each checked
        against its sha256; the first failure is raised once the others stopped."""
        segments = []
        for entry in self.files:
            dest = folder.joinpath(*entry.rel_path.split("/"))
            dest.parent.mkdir(parents=True, exist_ok=True)
            segments.append(Segment(rel_path=entry.rel_path, path=dest, size=entry.size))
        with ThreadPoolExecutor(FETCH_CONCURRENCY, "ursa-fetch") as pool:
            futures = [
                pool.submit(
                    self.raw.download,
                    self.session.file_key(entry.rel_path),
                    segment.path,
                    fsync=False,
                    sha256=entry.sha256,
                )
                for entry, segment in zip(self.files, segments, strict=True)
            ]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
        return segments

    def _upload(
        self, out: Path, output: ConversionOutput, asset: AssetKey, uploaded: list[str]
    ) -> list[dict[str, Any]]:
        """Every output file under the asset's folder, four at a time, each verified
        against the sha256 it was hashed to here; ``uploaded`` lists the keys to
        remove should the publication fail later."""
        uploads = []
        for path in sorted(p for entry in output.entries for p in _files(out / entry)):
            with open(path, "rb") as handle:
                sha = hashlib.file_digest(handle, "sha256").hexdigest()
            key = asset.parent + path.relative_to(out).as_posix()
            uploads.append(FileUpload(path, key, path.stat().st_size, sha, key))
        uploaded.extend(u.key for u in uploads)
        # A Lance table's version manifests go last: made again in its folder (a
        # damaged asset), the table never names data files that are not there yet.
        last = [u for u in uploads if "/_versions/" in u.key]
        transfer_files(self.assets, [u for u in uploads if u not in last], max_concurrent=4)
        transfer_files(self.assets, last, max_concurrent=4)
        return [{"key": u.key, "size": u.size, "sha256": u.sha256} for u in uploads]

    def _discard(self, keys: list[str]) -> None:
        for key in keys:
            try:
                self.assets.delete(key)
            except UrsaError:
                log.warning("could not remove %s after a failed conversion", key, exc_info=True)

    def _publish(
        self,
        described: StreamDescription,
        converter: Converter,
        digest: str,
        asset: AssetKey,
        output: ConversionOutput,
        objects: list[dict[str, Any]],
        started: float,
    ) -> ModalityOutcome:
        uri = self.assets.base_uri + asset.key
        current = self.current()
        self.catalog.upsert_many(
            [
                PipelineAsset(
                    asset_id=_asset_id(current, converter),
                    recording_hash=current.recording_hash,
                    modality=current.modality,
                    storage_uri=uri,
                    format=converter.storage_format,
                    pipeline_version=_version_folder(converter),
                    created_at=time.time_ns(),
                    metadata={
                        "converter": converter.name,
                        "converter_version": converter.version,
                        "input_digest": digest,
                        "input_bytes": output.input_bytes,
                        "count": output.count,
                        "unit": str(output.unit),
                        "objects": objects,
                    },
                )
            ]
        )
        if output.events:
            self.catalog.upsert_many(_events(current, output))
        metadata = {k: v for k, v in current.metadata.items() if k not in (LEASE_KEY, "failure")}
        self.catalog.mark_processed(
            current.recording_hash,
            current.modality,
            storage_uri=uri,
            format=converter.storage_format,
            sampling_rate=output.sampling_rate,
            domain_intervals=[Interval(start=a, end=b) for a, b in output.domain_intervals],
            channel_spec=dict(output.channel_spec or {}),
            metadata=metadata,
        )
        return ModalityOutcome(
            modality=current.modality,
            outcome="processed",
            kind=str(described.kind),
            converter=converter.name,
            converter_version=converter.version,
            storage_uri=uri,
            input_bytes=output.input_bytes,
            output_bytes=sum(int(o["size"]) for o in objects),
            output_objects=len(objects),
            count=output.count,
            unit=str(output.unit),
            channels=len((output.channel_spec or {}).get("names", ()) or ()),
            seconds_covered=sum(b - a for a, b in output.domain_intervals),
            seconds=time.perf_counter() - started,
        )

    def fail(
        self,
        described: StreamDescription | None,
        converter: Converter | None,
        reason: str,
        stale_after_s: float,
        *,
        leased: bool = False,
    ) -> ModalityOutcome:
        current = self.current()
        if current.ingestion_status is IngestionStatus.PROCESSED:
            log.error(
                "modality %s: a new asset failed, the old one stays: %s", current.modality, reason
            )
            if leased and LEASE_KEY in current.metadata:  # let the next run try again
                released = {k: v for k, v in current.metadata.items() if k != LEASE_KEY}
                with contextlib.suppress(InvalidTransitionError):
                    self.catalog.take_over(current, metadata=released)
        elif leased or self._take_lease(current, stale_after_s):
            self.catalog.mark_failed(current.recording_hash, current.modality, reason=reason)
        else:
            reason += " (not recorded: another live process holds the lease)"
        return ModalityOutcome(
            modality=current.modality,
            outcome="failed",
            reason=reason,
            kind=str(described.kind) if described is not None else None,
            converter=converter.name if converter else None,
            converter_version=converter.version if converter else None,
        )


def _recorded(published: PipelineAsset | None) -> list[tuple[str, int]]:
    """(key, size) of each object a publication recorded."""
    listed = published.metadata.get("objects") if published is not None else None
    entries = listed if isinstance(listed, list) else []
    return [
        (str(e["key"]), int(e["size"]))
        for e in entries
        if isinstance(e, dict) and "key" in e and "size" in e
    ]


def _files(path: Path) -> list[Path]:
    return [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]


def _events(row: Modality, output: ConversionOutput) -> list[Event]:
    return [
        Event(
            event_id=f"{row.recording_hash[:16]}.{row.modality}.{i:07d}",
            recording_hash=row.recording_hash,
            event_time=max(0.0, e.time_s),
            event_type=_identifier(e.type),
            prompt=e.prompt,
            response=e.response,
            metadata={**dict(e.metadata), "duration_s": e.duration_s, "modality": row.modality},
        )
        for i, e in enumerate(output.events)
    ]


def _identifier(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "_" for c in text)[:128]
    return cleaned or "event"
