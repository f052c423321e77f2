"""Index policy: which scalar index each table gets, and which are loaded early."""

from __future__ import annotations

import logging
from typing import Any

from lancedb.index import Bitmap, BTree, LabelList

from .._secrets import redact
from ._schema import LABELS_COLUMN

__all__ = ["INDEXES", "PREWARM", "ensure_indexes", "prewarm"]

log = logging.getLogger("ursa.catalog")

# Scalar indexes per table: (column, kind). BTREE for keys and ranges, BITMAP for
# low-cardinality columns, LABEL_LIST for list columns filtered by membership.
# modalities.recording_hash is a BITMAP although it has one value per ~10 rows:
# once loaded (see `PREWARM`), a query's IN-list of a few hundred hashes
# resolves about 4x faster than through a BTREE (bench/catalog.py), for an index
# of ~90 bytes per recording.
INDEXES: dict[str, tuple[tuple[str, str], ...]] = {
    "participants": (("participant_id", "BTREE"), (LABELS_COLUMN, "LABEL_LIST")),
    "recordings": (
        ("recording_hash", "BTREE"),
        ("rec_id", "BTREE"),
        ("start_time", "BTREE"),
        ("participant_ids", "LABEL_LIST"),
        (LABELS_COLUMN, "LABEL_LIST"),
    ),
    "modalities": (
        ("recording_hash", "BITMAP"),
        ("modality", "BITMAP"),
        ("ingestion_status", "BITMAP"),
        (LABELS_COLUMN, "LABEL_LIST"),
    ),
    "events": (("event_id", "BTREE"), ("recording_hash", "BTREE"), ("event_type", "BITMAP")),
    "embeddings": (("embedding_id", "BTREE"), ("recording_hash", "BTREE")),
    "pipeline_assets": (("asset_id", "BTREE"), ("recording_hash", "BTREE")),
    "checkpoints": (("checkpoint_id", "BTREE"),),
    "benchmark_suites": (("suite_name", "BTREE"),),
    "benchmark_results": (("result_id", "BTREE"), ("checkpoint_id", "BTREE")),
}

# A BITMAP index loads each value's bitmap from disk the first time a query
# names it: a query over 200 recordings not seen before in this process pays
# ~10 ms more for modalities.recording_hash (bench/catalog.py). So a handle's
# first read of a table loads that table's BITMAP indexes whole, in the
# background: one read (~9 MB and ~0.3 s on 2 cores for a million modality
# rows; the low-cardinality ones are a few KB) once per handle.
PREWARM: dict[str, tuple[str, ...]] = {
    table: tuple(column for column, kind in indexes if kind == "BITMAP")
    for table, indexes in INDEXES.items()
    if any(kind == "BITMAP" for _, kind in indexes)
}

_INDEX_CONFIG: dict[str, Any] = {"BTREE": BTree, "BITMAP": Bitmap, "LABEL_LIST": LabelList}
_INDEX_TYPE_NAME = {"BTREE": "btree", "BITMAP": "bitmap", "LABEL_LIST": "labellist"}
"""How `list_indices` spells each kind (lowercased)."""


def ensure_indexes(table: Any, name: str) -> None:
    """Give the (sync) table ``name`` every index `INDEXES` lists, rebuilding one
    that an older Ursa made with another kind."""
    have = {tuple(i.columns): i for i in table.list_indices()}
    for column, kind in INDEXES[name]:
        index = have.get((column,))
        if index is not None and index.index_type.lower() != _INDEX_TYPE_NAME[kind]:
            table.drop_index(index.name)
            index = None
        if index is None:
            table.create_index(column, config=_INDEX_CONFIG[kind]())


async def prewarm(table: Any, columns: tuple[str, ...]) -> None:
    """Load the indexes on ``columns`` whole into LanceDB's cache (see `PREWARM`);
    a failure only means queries load what they need on their own."""
    try:
        for index in await table.list_indices():
            if len(index.columns) == 1 and index.columns[0] in columns:
                await table.prewarm_index(index.name)
    except Exception as exc:  # noqa: BLE001 - only a cache warm-up
        log.debug("prewarming indexes of %s failed: %s", table.name, redact(str(exc)))
