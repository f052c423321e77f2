"""Several processes writing one catalog at once: exactly one winner per key,
nothing lost, nothing duplicated — on a local catalog and on S3 (moto)."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from ursa_lib import PrimaryKeyConflict
from ursa_lib.catalog import Catalog, Recording
from ursa_lib.testing import ASSETS_BUCKET, MotoS3, recording, rhash

WRITERS = 8


def _same_key(uri: str, options: dict[str, str], barrier: Any, out: Any) -> None:
    catalog = Catalog(uri, writable=True, storage_options=options)
    row = recording("race")
    barrier.wait()
    try:
        catalog.add_recording(row)
        out.put("won")
    except PrimaryKeyConflict:
        out.put("conflict")
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        out.put(f"error {type(exc).__name__}: {exc}")


def _different_keys(uri: str, options: dict[str, str], barrier: Any, out: Any, me: int) -> None:
    catalog = Catalog(uri, writable=True, storage_options=options)
    barrier.wait()
    try:
        for j in range(5):
            catalog.add_recording(recording(f"w{me}-{j}"))
        catalog.add_many([recording(f"w{me}-batch{j}") for j in range(20)])
        out.put("done")
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        out.put(f"error {type(exc).__name__}: {exc}")


def _run(target: Any, uri: str, options: dict[str, str], *extra: Any) -> list[str]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WRITERS)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=target, args=(uri, options, barrier, out, *((i,) if extra else ())))
        for i in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=240) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    return results


@pytest.fixture(params=["local", "s3"])
def target(request: pytest.FixtureRequest, tmp_path: Path, ns: str) -> tuple[str, dict[str, str]]:
    if request.param == "local":
        return str(tmp_path / "catalog"), {}
    moto: MotoS3 = request.getfixturevalue("moto_s3")
    return f"s3://{ASSETS_BUCKET}/{ns}/catalog", {
        "aws_endpoint": moto.rw.url,
        "aws_access_key_id": moto.rw.access_key_id,
        "aws_secret_access_key": moto.rw.secret_access_key,
        "aws_region": "us-east-1",
        "allow_http": "true",
    }


@pytest.mark.slow
def test_same_key_from_many_processes_has_exactly_one_winner(
    target: tuple[str, dict[str, str]],
) -> None:
    uri, options = target
    results = _run(_same_key, uri, options)
    assert Counter(results) == {"won": 1, "conflict": WRITERS - 1}, results
    stored = Catalog(uri, writable=False, storage_options=options).list_recordings()
    assert [r.recording_hash for r in stored] == [rhash("race")]


@pytest.mark.slow
def test_different_keys_from_many_processes_lose_nothing(
    target: tuple[str, dict[str, str]],
) -> None:
    uri, options = target
    results = _run(_different_keys, uri, options, True)
    assert results == ["done"] * WRITERS, results
    catalog = Catalog(uri, writable=False, storage_options=options)
    hashes = [r.recording_hash for r in catalog.list_recordings()]
    expected = {rhash(f"w{i}-{j}") for i in range(WRITERS) for j in range(5)} | {
        rhash(f"w{i}-batch{j}") for i in range(WRITERS) for j in range(20)
    }
    assert len(hashes) == len(set(hashes)), "duplicated rows"
    assert set(hashes) == expected
    assert catalog.count(Recording) == WRITERS * 25
