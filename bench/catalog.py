"""Catalog lookups on a million modality rows vs reading the whole table.

    .venv/bin/python bench/catalog.py            # 100,000 recordings x 10 modalities
    .venv/bin/python bench/catalog.py --quick    # 5,000 recordings, not recorded

Builds a local catalog of 500 participants, N recordings (each with one
participant, so about N/500 per participant) and 10 modalities per recording,
compacts and indexes it (``Catalog.optimize``), then measures p50/p95 latency of
lookups through `Catalog` against the naive approach a catalog without pushdown
takes: read the whole table, then filter. Insert throughput is measured for
batch and single registration. The table replaces the "catalog" section of
docs/benchmarks.md; the last line printed is ``BENCH catalog ...``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._catalog_data import MODALITIES, PARTICIPANTS, build, pid, rhash  # noqa: E402
from bench._report import update_section  # noqa: E402
from ursa_lib import query  # noqa: E402
from ursa_lib.catalog import (  # noqa: E402
    Catalog,
    IngestionStatus,
    Modality,
    Recording,
    from_records,
)
from ursa_lib.catalog._schema import ROW_JSON_COLUMN  # noqa: E402


def latency(fn: Callable[[int], Any], runs: int) -> tuple[float, float]:
    samples = []
    for i in range(runs):
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def _whole_table(catalog: Catalog, table: str) -> pa.Table:
    """Every row, without the row_json column (a catalog without pushdown would
    not have it either)."""
    handle = catalog._connect().open_table(table)
    columns = [name for name in handle.schema.names if name != ROW_JSON_COLUMN]
    return handle.search().select(columns).limit(None).to_arrow()


def naive(catalog: Catalog, table: str, column: str, value: Any, model: type) -> list[Any]:
    """A catalog without pushdown: read the whole table, filter in Python."""
    rows = _whole_table(catalog, table).to_pylist()
    if isinstance(rows[0][column], list):
        hits = [r for r in rows if value in r[column]]
    else:
        hits = [r for r in rows if r[column] == value]
    return from_records(model, hits)


def arrow_scan(catalog: Catalog, table: str, column: str, value: Any, model: type) -> list[Any]:
    """A kinder baseline: read the whole table, filter with Arrow compute."""
    data = _whole_table(catalog, table)
    values = data[column].combine_chunks()
    if pa.types.is_list(values.type):
        hits = pc.equal(pc.list_flatten(values), value)
        picked = data.take(pc.unique(pc.list_parent_indices(values).filter(hits)))
    else:
        picked = data.filter(pc.equal(values, value))
    return from_records(model, picked.to_pylist())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="5,000 recordings, not recorded in docs"
    )
    parser.add_argument("--keep", type=Path, help="build (or reuse) the catalog in this folder")
    args = parser.parse_args()
    recordings = 5_000 if args.quick else 100_000
    runs = 50 if args.quick else 200

    folder = args.keep or Path(tempfile.mkdtemp(prefix="ursa-catalog-bench-"))
    catalog = Catalog(str(folder / "catalog"), writable=True)
    build_s = _build_if_needed(catalog, folder, recordings)
    catalog = Catalog(str(folder / "catalog"), writable=False)
    modality_rows = catalog.count(Modality)

    results = _lookups(catalog, recordings, runs)
    query_figures = _query(catalog, folder, recordings, runs)
    naive_runs = 3
    naive_results, arrow_results = _whole_table_lookups(catalog, naive_runs)
    batch_rate, single_rate = _inserts(folder)
    figures = Figures(
        recordings=recordings,
        modality_rows=modality_rows,
        build_s=build_s,
        runs=runs,
        naive_runs=naive_runs,
        results=results,
        naive_results=naive_results,
        arrow_results=arrow_results,
        query=query_figures,
        batch_rate=batch_rate,
        single_rate=single_rate,
    )
    table = _table(figures)
    print(table)
    if not args.quick:
        update_section(
            ROOT / "docs" / "benchmarks.md",
            "catalog",
            "Catalog: lookups on 1M modality rows",
            table,
        )
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    print(_bench_line(figures))


def _build_if_needed(catalog: Catalog, folder: Path, recordings: int) -> float:
    """Builds the catalog unless ``folder`` holds it already; the build's seconds, or NaN."""
    if catalog.count(Modality) != recordings * len(MODALITIES):
        print(
            f"building {recordings:,} recordings x {len(MODALITIES)} modalities in {folder}",
            flush=True,
        )
        build_s = build(catalog, recordings)
        # Measure the catalog at rest, as an analyst's process finds it: the
        # build's writes on disk (not being flushed under the lookups), its
        # garbage gone, and a handle of its own, opened for reading.
        os.sync()
        gc.collect()
    else:
        build_s = float("nan")
    return build_s


def _lookups(catalog: Catalog, recordings: int, runs: int) -> dict[str, tuple[float, float]]:
    """p50 and p95 (ms) of each lookup through `Catalog`."""
    results: dict[str, tuple[float, float]] = {}
    step = max(1, recordings // runs)
    results["get_by_hash"] = latency(lambda i: catalog.get_recording(rhash(i * step)), runs)
    results["modalities_of_recording"] = latency(
        lambda i: catalog.list_modalities({"recording_hash": rhash(i * step)}), runs
    )
    results["recordings_of_participant"] = latency(
        lambda i: catalog.recordings_of_participant(pid(i)), runs
    )
    results["metadata_equality"] = latency(
        lambda i: catalog.list_recordings({"metadata": {"batch": i % (recordings // 1000)}}), runs
    )
    assert len(catalog.recordings_of_participant(pid(1))) == recordings // PARTICIPANTS
    return results


@dataclass(frozen=True, slots=True)
class QueryFigures:
    p50_ms: float
    p95_ms: float
    frozen_p50_ms: float
    frozen_p95_ms: float
    """After ``gc.freeze()``."""
    first_ms: float
    """The first query on a handle opened just now."""


def _query(catalog: Catalog, folder: Path, recordings: int, runs: int) -> QueryFigures:
    """The public ``query`` verb: on a handle in use, after ``gc.freeze()``, on a fresh handle."""
    # The public verb: one participant's recordings with all their modalities,
    # each participant once, on a handle in use.
    query_p50, query_p95 = latency(
        lambda i: query(catalog, participants=pid(i), status="raw"), runs
    )
    # What a long-lived process gains by moving what it holds out of the
    # garbage collector's reach (docs/operations.md), on other participants.
    gc.freeze()
    frozen_p50, frozen_p95 = latency(
        lambda i: query(catalog, participants=pid(runs + i), status="raw"), runs
    )
    gc.unfreeze()
    # And once on a handle opened just now (nothing of the catalog cached),
    # letting its background index load finish before anything else is timed.
    fresh = Catalog(str(folder / "catalog"), writable=False)
    started = time.perf_counter()
    query(fresh, participants=pid(PARTICIPANTS - 1), status="raw")
    first_query_ms = (time.perf_counter() - started) * 1000
    for loading in fresh._prewarming.values():
        loading.result()
    answer = query(catalog, participants=pid(1), status="raw")
    assert len(answer) == recordings // PARTICIPANTS
    assert all(len(r.modalities) == len(MODALITIES) for r in answer)
    assert len(catalog.list_modalities({"recording_hash": rhash(3)})) == len(MODALITIES)
    return QueryFigures(
        p50_ms=query_p50,
        p95_ms=query_p95,
        frozen_p50_ms=frozen_p50,
        frozen_p95_ms=frozen_p95,
        first_ms=first_query_ms,
    )


def _whole_table_lookups(
    catalog: Catalog, naive_runs: int
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    """The same lookups by reading the whole table: filtered in Python, and with Arrow."""
    naive_results: dict[str, tuple[float, float]] = {}
    label = lambda i: f"batch={json.dumps(i)}"  # noqa: E731
    lookups = {
        "get_by_hash": ("recordings", "recording_hash", rhash, Recording),
        "modalities_of_recording": ("modalities", "recording_hash", rhash, Modality),
        "recordings_of_participant": ("recordings", "participant_ids", pid, Recording),
        "metadata_equality": ("recordings", "metadata_labels", label, Recording),
    }
    arrow_results: dict[str, tuple[float, float]] = {}
    for key, (table_name, column, make, model) in lookups.items():
        naive_results[key] = latency(
            lambda i, t=table_name, c=column, f=make, m=model: naive(catalog, t, c, f(i), m),
            naive_runs,
        )
        arrow_results[key] = latency(
            lambda i, t=table_name, c=column, f=make, m=model: arrow_scan(catalog, t, c, f(i), m),
            naive_runs,
        )
    return naive_results, arrow_results


def _inserts(folder: Path) -> tuple[float, float]:
    """Rows per second: batch ``add_many`` and single ``register_modality``."""
    # Insert throughput on a fresh catalog, so the big one is not disturbed.
    shutil.rmtree(folder / "scratch", ignore_errors=True)  # left by an earlier --keep run
    scratch = Catalog(str(folder / "scratch"), writable=True)
    rows = [
        Modality(
            recording_hash=rhash(10_000_000 + n),
            modality="eeg",
            worker_id="0",
            ingestion_status=IngestionStatus.RAW,
            raw_storage_uri=f"s3://lab-raw/recordings/x{n}/eeg_0/",
        )
        for n in range(20_000)
    ]
    started = time.perf_counter()
    scratch.add_many(rows[:10_000])
    batch_rate = 10_000 / (time.perf_counter() - started)
    started = time.perf_counter()
    for row in rows[10_000:10_200]:
        scratch.register_modality(row)
    single_rate = 200 / (time.perf_counter() - started)
    return batch_rate, single_rate


@dataclass(frozen=True, slots=True)
class Figures:
    recordings: int
    modality_rows: int
    build_s: float
    runs: int
    naive_runs: int
    results: dict[str, tuple[float, float]]
    naive_results: dict[str, tuple[float, float]]
    arrow_results: dict[str, tuple[float, float]]
    query: QueryFigures
    batch_rate: float
    single_rate: float

    @property
    def ratios(self) -> dict[str, float]:
        """Naive p50 over Ursa's p50, by lookup."""
        return {key: self.naive_results[key][0] / self.results[key][0] for key in self.results}


def _table(f: Figures) -> str:
    recordings, modality_rows, build_s, runs = f.recordings, f.modality_rows, f.build_s, f.runs
    naive_runs, results, naive_results, arrow_results = (
        f.naive_runs,
        f.results,
        f.naive_results,
        f.arrow_results,
    )
    query_p50, query_p95, first_query_ms = f.query.p50_ms, f.query.p95_ms, f.query.first_ms
    frozen_p50, frozen_p95 = f.query.frozen_p50_ms, f.query.frozen_p95_ms
    batch_rate, single_rate = f.batch_rate, f.single_rate
    names = {
        "get_by_hash": "get recording by hash",
        "modalities_of_recording": "modalities of one recording",
        "recordings_of_participant": f"one participant's ~{recordings // PARTICIPANTS} recordings (hydrated)",
        "metadata_equality": "metadata equality (~1,000 recordings)",
    }
    lines = [
        f"Local catalog: {PARTICIPANTS} participants, {recordings:,} recordings, "
        f"{modality_rows:,} modality rows; "
        + (
            f"built and indexed in {build_s:.0f} s; "
            if build_s == build_s  # not NaN: built in this run
            else "reused from an earlier run (--keep); "
        )
        + f"{runs} lookups each (naive: {naive_runs}); 2 cores.",
        "",
        "| lookup | ursa p50 ms | ursa p95 ms | naive p50 ms | speed-up | Arrow-scan p50 ms | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    ratios = f.ratios
    for key, title in names.items():
        p50, p95 = results[key]
        n50, _ = naive_results[key]
        a50, _ = arrow_results[key]
        lines.append(
            f"| {title} | {p50:.1f} | {p95:.1f} | {n50:.0f} | {ratios[key]:.0f}x "
            f"| {a50:.0f} | {a50 / p50:.0f}x |"
        )
    lines += [
        "",
        f"`query(participants=…, status='raw')` — one participant's "
        f"{recordings // PARTICIPANTS} recordings with their "
        f"{recordings // PARTICIPANTS * len(MODALITIES):,} modality rows, as `QueryResult`s: "
        f"p50 {query_p50:.1f} ms, p95 {query_p95:.1f} ms (each participant queried once; "
        "the p95 is CPython's full garbage collections, which the ~9,000 Python objects "
        "of each answer trigger every few queries; after `gc.freeze()`: "
        f"p50 {frozen_p50:.1f} ms, p95 {frozen_p95:.1f} ms). The first query on a handle "
        f"opened just now: {first_query_ms:.0f} ms (it opens the tables and indexes).",
        "",
        f"Insert throughput: batch `add_many` {batch_rate:,.0f} rows/s; "
        f"single `register_modality` {single_rate:,.0f} rows/s.",
        "",
        "Naive = read the whole table, filter in Python (what a catalog without pushdown "
        "does). Arrow-scan = read the whole table, filter with Arrow compute: a kinder "
        "baseline, shown for honesty. Command: `.venv/bin/python bench/catalog.py`",
    ]
    return "\n".join(lines)


def _bench_line(f: Figures) -> str:
    results, ratios, batch_rate, single_rate = f.results, f.ratios, f.batch_rate, f.single_rate
    query_p50, query_p95, first_query_ms = f.query.p50_ms, f.query.p95_ms, f.query.first_ms
    frozen_p95 = f.query.frozen_p95_ms
    return (
        "BENCH catalog "
        f"get_by_hash_p50_ms={results['get_by_hash'][0]:.2f} "
        f"modalities_p50_ms={results['modalities_of_recording'][0]:.2f} "
        f"participant_p50_ms={results['recordings_of_participant'][0]:.2f} "
        f"metadata_p50_ms={results['metadata_equality'][0]:.2f} "
        f"query_participant_p50_ms={query_p50:.2f} "
        f"query_participant_p95_ms={query_p95:.2f} "
        f"query_frozen_p95_ms={frozen_p95:.2f} "
        f"first_query_ms={first_query_ms:.1f} "
        f"get_x_vs_naive={ratios['get_by_hash']:.0f} "
        f"modalities_x_vs_naive={ratios['modalities_of_recording']:.0f} "
        f"participant_x_vs_naive={ratios['recordings_of_participant']:.0f} "
        f"batch_rows_s={batch_rate:.0f} single_rows_s={single_rate:.0f}"
    )


if __name__ == "__main__":
    main()
