"""``ursa query``: what the catalog holds, and why nothing matched when nothing did."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._errors import CliError, ExitCode
from ._options import (
    EndOption,
    HashOption,
    JsonOption,
    LimitOption,
    MetaOption,
    ModalitiesOption,
    ParticipantsOption,
    ProfileOption,
    RootOption,
    StartOption,
    Status,
    StatusOption,
    filters,
)
from ._output import emit_json, human_bytes, human_duration, human_time, print_table
from ._profiles import open_profile

if TYPE_CHECKING:
    from .._interface import DataInterface
    from ..delivery._query import QueryResult, QueryResults, QuerySpec

__all__ = ["nothing_matched", "query"]

AUTO_SIZES_MAX = 200
"""Without --sizes/--no-sizes, sizes are read for at most this many recordings."""

SizesOption = Annotated[
    bool | None,
    typer.Option(
        "--sizes/--no-sizes",
        help="Read each session's stored manifest for file counts and sizes (one GET each; "
        f"default: when at most {AUTO_SIZES_MAX} recordings match).",
        show_default=False,
    ),
]


def nothing_matched(ursa: DataInterface, spec: QuerySpec) -> CliError:
    """Exit code 3, saying where rows are when other flags would find them."""
    if spec.status != "all" and spec.time_range is None:
        others = ursa.query(spec.model_copy(update={"status": "all", "limit": None}))
        statuses: dict[str, int] = {}
        for result in others:
            for mod in result.modalities.values():
                status = mod.ingestion_status.value
                statuses[status] = statuses.get(status, 0) + 1
        if statuses:
            found = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
            flag = "--status raw (or --status all)" if "raw" in statuses else "--status all"
            return CliError(
                f"nothing matched --status {spec.status}, but {len(others)} recording(s) with "
                f"{found} modalities match otherwise: add {flag}",
                ExitCode.NOTHING_MATCHED,
            )
    unknown = _unknown_values(ursa, spec)
    if unknown:
        return CliError(
            f"nothing matched: the catalog of profile {ursa.profile.name!r} holds no "
            f"{' and no '.join(unknown)}; check the flag (ursa query --status all lists "
            "what it holds)",
            ExitCode.NOTHING_MATCHED,
        )
    counts = ursa.status()
    total, recordings = int(counts.get("modalities", 0)), int(counts.get("recordings", 0))
    if total == 0 and recordings == 0:
        return CliError(
            f"nothing matched: the catalog of profile {ursa.profile.name!r} is empty; "
            "ingest a session first (ursa ingest DIR)",
            ExitCode.NOTHING_MATCHED,
        )
    if total == 0:
        return CliError(
            f"nothing matched: the catalog holds {recordings} recording(s) but no modality: "
            "their files lie in no stream folder (<stream>_<n>/), and queries find "
            "recordings by their modalities",
            ExitCode.NOTHING_MATCHED,
        )
    where = "drop a filter" if spec.status == "all" else "ursa query --status all lists them all"
    return CliError(
        f"nothing matched these filters together; the catalog holds {total} modalities ({where})",
        ExitCode.NOTHING_MATCHED,
    )


def _unknown_values(ursa: DataInterface, spec: QuerySpec) -> list[str]:
    """The filter values no row has at all (``--modality eeg_0`` where rows say ``eeg``)."""
    from ..catalog import Modality, Participant, Recording, Row

    catalog = ursa.catalog()
    checks: list[tuple[str, type[Row], str, tuple[str, ...] | None]] = [
        ("modality", Modality, "modality", spec.modalities),
        ("participant", Participant, "participant_id", spec.participants),
        ("recording", Recording, "recording_hash", spec.recording_hash),
    ]
    unknown = []
    for noun, model, field, values in checks:
        absent = [v for v in values or () if catalog.count(model, {field: v}) == 0]
        if values and len(absent) == len(values):
            flag = "--hash" if noun == "recording" else f"--{noun}"
            unknown.append(f"{noun} {' or '.join(map(repr, absent))} ({flag})")
    return unknown


def _raw_sizes(ursa: DataInterface, results: QueryResults) -> dict[str, tuple[int, int]]:
    """``raw_storage_uri → (files, bytes)`` from each session's stored manifest."""
    from .._errors import ConfigError, ObjectNotFoundError
    from .._layout import SessionPrefix
    from ..ingestion import load_stored_manifest

    try:
        store = ursa.store("raw_ro")
    except ConfigError:
        return {}  # no raw_ro keys: the sizes stay unknown, the query still answers

    def one(result: QueryResult) -> dict[str, tuple[int, int]]:
        uris = [m.raw_storage_uri for m in result.modalities.values()]
        keys = [u.removeprefix(store.base_uri) for u in uris if u.startswith(store.base_uri)]
        if not keys:
            return {}
        session = SessionPrefix.parse(keys[0])
        try:
            manifest = load_stored_manifest(store, session)
        except ObjectNotFoundError:
            return {}
        sizes = {}
        for key in keys:
            folder = session.rel_path(key.rstrip("/")) + "/"
            entries = [f for f in manifest.files or () if f.rel_path.startswith(folder)]
            sizes[store.base_uri + key] = (len(entries), sum(f.size for f in entries))
        return sizes

    found: dict[str, tuple[int, int]] = {}
    with ThreadPoolExecutor(8) as pool:
        for sizes in pool.map(one, results):
            found.update(sizes)
    return found


def _rows(results: QueryResults, sizes: dict[str, tuple[int, int]]) -> Iterator[dict[str, Any]]:
    for row in results.rows():
        files, size = sizes.get(row["raw_storage_uri"], (None, None))
        yield {**row, "raw_files": files, "raw_bytes": size}


def query(
    participant: ParticipantsOption = None,
    modality: ModalitiesOption = None,
    hash_: HashOption = None,
    meta: MetaOption = None,
    status: StatusOption = Status.ingested,
    start_ns: StartOption = None,
    end_ns: EndOption = None,
    limit: LimitOption = None,
    sizes: SizesOption = None,
    as_json: JsonOption = False,
    profile: ProfileOption = None,
    root: RootOption = None,
) -> None:
    """List recordings and modalities that match (a table, or JSON lines with URIs).

    Nothing matched exits 3, naming the flag that would find rows.
    """
    from .._interface import DataInterface

    spec = filters(participant, modality, hash_, meta, status, start_ns, end_ns, limit)
    ursa = DataInterface(
        open_profile(profile, root, roles=("raw_ro", "assets_ro"), needs_catalog=True)
    )
    results = ursa.query(spec)
    if not results:
        raise nothing_matched(ursa, spec)
    if sizes is None:
        sizes = len(results) <= AUTO_SIZES_MAX
    rows = list(_rows(results, _raw_sizes(ursa, results) if sizes else {}))
    if as_json:
        for row in rows:
            emit_json(row)
        return
    print_table(
        (
            {
                "hash": str(row["recording_hash"])[:12],
                "rec_id": str(row["rec_id"]),
                "who": ",".join(row["participant_ids"]),
                "start (UTC)": human_time(row["start_time"]).removesuffix(" UTC")[:16],
                "length": human_duration(row["duration"]),
                "modality": str(row["modality"]),
                "status": str(row["status"]),
                "files": "?" if row["raw_files"] is None else str(row["raw_files"]),
                "size": human_bytes(row["raw_bytes"]),
            }
            for row in rows
        ),
        (
            "hash",
            "rec_id",
            "who",
            "start (UTC)",
            "length",
            "modality",
            "status",
            "files",
            "size",
        ),
        right=("files", "size"),
        title=f"{len(results)} recording(s), {len(rows)} modalities",
        # rec_id whole matters more than files and start, less than who and length
        optional=("files", "start (UTC)", "rec_id", "who", "length"),
        shorten="rec_id",
    )
