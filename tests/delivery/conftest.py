"""Processed recordings to read back: written by the field's own writers, ingested, processed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ursa_lib import DataInterface, augment
from ursa_lib.testing import RecordingSpec, write_recording

T0 = 1_700_000_000_000_000_000


@dataclass
class Processed:
    """A processed recording: the interface, the rig's session folder and its query result."""

    ui: DataInterface
    session: Path
    recording_hash: str

    @property
    def result(self) -> Any:
        (result,) = self.ui.query(recording_hash=self.recording_hash, status="all")
        return result


@pytest.fixture
def processed(
    make_interface: Callable[[str], DataInterface], tmp_path: Path, ns: str
) -> Callable[..., Processed]:
    """``processed(backend, **spec)``: a `write_recording` session, ingested and processed.

    ``prepare(session)`` may add streams or describe them before the manifest
    is augmented again.

    Each session gets its own seed, so its recording hash (over content only)
    is its own on a server that tests share.
    """
    interfaces: dict[str, DataInterface] = {}

    def make(
        backend: str = "local",
        *,
        process: bool = True,
        prepare: Callable[[Path], None] | None = None,
        **spec: Any,
    ) -> Processed:
        ui = interfaces.setdefault(backend, make_interface(backend))
        rec_id = f"rec_{ns}_{len(list(tmp_path.glob('rig/*')))}"
        seed = int(hashlib.sha256(rec_id.encode()).hexdigest()[:8], 16)
        spec = {"start_time_ns": T0, "seed": seed, **spec}
        write_recording(tmp_path / "rig", RecordingSpec(rec_id=rec_id, **spec))
        if prepare is not None:  # more streams, or a manifest streams section
            prepare(tmp_path / "rig" / rec_id)
            augment(tmp_path / "rig" / rec_id)
        h = ui.ingest(tmp_path / "rig" / rec_id).recording_hash
        if process:
            outcomes = ui.process(h)[0].outcomes
            assert {o.outcome for o in outcomes} == {"processed"}, outcomes
        return Processed(ui, tmp_path / "rig" / rec_id, h)

    return make
