"""Fixtures of the CLI tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ursa_lib import LocalProfile, augment, ingest, open_store
from ursa_lib._demo import make_synthetic_session
from ursa_lib.catalog import Catalog

T0 = 1_790_000_000_000_000_000


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local profile holding one session, ingested and still raw (as after `make demo`)."""
    base = tmp_path_factory.mktemp("lab")
    profile = LocalProfile(root=base / "ursa")
    session = make_synthetic_session(base / "rigs", "rec_new", segments=2, segment_bytes=1000)
    rig = {"rec_id": "rec_new", "start_time": T0, "duration": 60.0, "participant_id": "p1"}
    (session / "manifest.json").write_text(json.dumps(rig))
    augment(session)
    ingest(
        session / "manifest.json",
        raw=open_store(profile, "raw_rw"),
        catalog=Catalog.open(profile, writable=True),
    )
    return profile.root
