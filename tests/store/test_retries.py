"""Every retry loop runs under a `RetryPolicy`: it retries, and it gives up once the
policy's timeout has passed, however many tries are left.

The store's loops are driven through the fault proxy in front of a real S3 server,
the catalog's against real LanceDB. A source scan keeps hand-written retry loops
(a ``sleep`` inside a loop) out of the library.
"""

from __future__ import annotations

import ast
import os
import re
import threading
import time
from pathlib import Path

import lancedb
import pytest

from ursa_lib import CatalogError, ObjectStoreTransientError, RetryPolicy, Store
from ursa_lib.catalog import Catalog, Recording, arrow_schema
from ursa_lib.testing import Fault, FaultProxy, MiB, RcloneS3, recording, s3_store

LIBRARY = Path(__file__).parents[2] / "ursa_lib"
RETRY_MODULE = LIBRARY / "store" / "_retry.py"

QUICK = RetryPolicy(attempts=6, wait_initial=0.05, wait_max=0.2, wait_jitter=0.01)
"""Enough tries for the faults each test schedules."""
BRIEF = RetryPolicy(attempts=10_000, timeout=1.0, wait_initial=0.05, wait_max=0.1, wait_jitter=0)
"""Tries that would outlast any test: only the timeout can end them."""
GIVE_UP_WITHIN = 15.0
"""Seconds a `BRIEF` give-up may take: its timeout and the try under way. Against S3
one try of ours lasts ~4.5 s, as obstore retries each request 3 times itself."""
OBSTORE_TRIES = 4
"""Requests obstore sends for one try of ours when every one fails."""


@pytest.fixture
def direct(rclone_s3: RcloneS3) -> Store:
    return s3_store(rclone_s3.rw)


def proxied(rclone_s3: RcloneS3, proxy: FaultProxy, policy: RetryPolicy) -> Store:
    return s3_store(rclone_s3.rw, url=proxy.url, retry=policy)


def gave_up_early(exc: BaseException) -> bool:
    """The store gave up after far fewer tries than `BRIEF` allows."""
    tries = re.search(r"gave up after (\d+) attempts", str(exc))
    return tries is not None and int(tries.group(1)) <= 3


class Clock:
    def __enter__(self) -> Clock:
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.monotonic() - self.started


# -- Store.list: a listing resumes after the last key it yielded ---------------


def test_listing_retries_a_failed_page(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, direct: Store, ns: str
) -> None:
    keys = [f"{ns}/k{i}" for i in range(3)]
    for key in keys:
        direct.put(key, b"x")
    failures = OBSTORE_TRIES + 2  # more than obstore retries on its own
    fault_proxy.add(
        Fault("status", method="GET", query_contains="list-type", status=503, times=failures)
    )
    listed = [info.key for info in proxied(rclone_s3, fault_proxy, QUICK).list(ns)]
    assert listed == keys
    assert len(fault_proxy.fired()) == failures


def test_listing_gives_up_at_the_policy_timeout(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, direct: Store, ns: str
) -> None:
    direct.put(f"{ns}/k", b"x")
    fault_proxy.add(
        Fault("status", method="GET", query_contains="list-type", status=503, times=10**6)
    )
    store = proxied(rclone_s3, fault_proxy, BRIEF)
    with Clock() as clock, pytest.raises(ObjectStoreTransientError, match=ns) as raised:
        list(store.list(ns))
    assert BRIEF.timeout <= clock.elapsed < GIVE_UP_WITHIN
    assert gave_up_early(raised.value)


# -- ObjectReader: a broken body resumes from the byte it reached --------------


def test_a_body_broken_more_often_than_the_tries_completes_while_it_progresses(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, direct: Store, ns: str
) -> None:
    data = os.urandom(2 * MiB)
    direct.put(f"{ns}/obj", data)
    fault_proxy.add(Fault("truncate", method="GET", after_bytes=256 * 1024, times=5))
    store = proxied(rclone_s3, fault_proxy, RetryPolicy(attempts=2, wait_initial=0.01))
    assert store.get(f"{ns}/obj") == data
    assert len(fault_proxy.fired()) == 5


def test_resuming_a_body_gives_up_at_the_policy_timeout(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, direct: Store, ns: str
) -> None:
    direct.put(f"{ns}/obj", os.urandom(3 * MiB))
    fault_proxy.add(
        Fault("truncate", method="GET", after_bytes=MiB, times=1),
        Fault("status", method="GET", status=503, times=10**6),
    )
    reader = proxied(rclone_s3, fault_proxy, BRIEF).open(f"{ns}/obj")
    chunks = reader.iter_chunks()
    next(chunks)  # the body flows, then breaks and every resumption fails
    with Clock() as clock, pytest.raises(ObjectStoreTransientError, match=f"{ns}/obj") as raised:
        for _ in chunks:
            pass
    assert BRIEF.timeout <= clock.elapsed < GIVE_UP_WITHIN
    assert gave_up_early(raised.value)
    assert len(fault_proxy.fired()) > OBSTORE_TRIES  # the resumption was tried


# -- Store.put: the whole upload is sent again ---------------------------------


def test_upload_gives_up_at_the_policy_timeout(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, direct: Store, ns: str
) -> None:
    fault_proxy.add(Fault("status", method="PUT", status=503, times=10**6))
    store = proxied(rclone_s3, fault_proxy, BRIEF)
    with Clock() as clock, pytest.raises(ObjectStoreTransientError, match=f"{ns}/obj") as raised:
        store.put(f"{ns}/obj", b"payload")
    assert BRIEF.timeout <= clock.elapsed < GIVE_UP_WITHIN
    assert gave_up_early(raised.value)
    assert not direct.exists(f"{ns}/obj")


def test_upload_of_a_file_is_sent_again_from_its_start(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, direct: Store, ns: str, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    with open(tmp_path / "f", "wb+") as handle:
        handle.write(b"header" + data)
        handle.seek(6)
        failures = OBSTORE_TRIES + 2
        fault_proxy.add(Fault("status", method="PUT", status=503, times=failures))
        proxied(rclone_s3, fault_proxy, QUICK).put(f"{ns}/obj", handle)
    assert direct.get(f"{ns}/obj") == data
    assert len(fault_proxy.fired()) == failures


# -- single requests (HEAD, GET of a range): retried whole ---------------------


def test_single_request_gives_up_at_the_policy_timeout(
    rclone_s3: RcloneS3, fault_proxy: FaultProxy, direct: Store, ns: str
) -> None:
    direct.put(f"{ns}/obj", b"x")
    fault_proxy.add(Fault("status", method="HEAD", status=503, times=10**6))
    store = proxied(rclone_s3, fault_proxy, BRIEF)
    with Clock() as clock, pytest.raises(ObjectStoreTransientError, match=f"{ns}/obj") as raised:
        store.head(f"{ns}/obj")
    assert BRIEF.timeout <= clock.elapsed < GIVE_UP_WITHIN
    assert gave_up_early(raised.value)


# -- Catalog: a table another writer is still creating --------------------------


def test_a_table_listed_before_its_first_commit_is_waited_for(tmp_path: Path) -> None:
    uri = str(tmp_path / "catalog")
    (tmp_path / "catalog" / "recordings.lance").mkdir(parents=True)  # listed, not committed
    catalog = Catalog(uri, writable=False, retry=RetryPolicy(attempts=50, wait_initial=0.05))

    def commit_later() -> None:
        time.sleep(0.3)
        lancedb.connect(uri).create_table(
            "recordings", schema=arrow_schema(Recording), mode="create"
        )

    writer = threading.Thread(target=commit_later)
    writer.start()
    with Clock() as clock:
        assert catalog.list_recordings() == []
    writer.join()
    assert clock.elapsed >= 0.3


def test_a_table_that_never_commits_gives_up_at_the_policy_timeout(tmp_path: Path) -> None:
    uri = str(tmp_path / "catalog")
    (tmp_path / "catalog" / "recordings.lance").mkdir(parents=True)
    catalog = Catalog(uri, writable=False, retry=BRIEF)
    with Clock() as clock, pytest.raises(CatalogError, match="opening table recordings"):
        catalog.list_recordings()
    assert BRIEF.timeout <= clock.elapsed < GIVE_UP_WITHIN


# -- Catalog: a commit that loses a race to another writer ---------------------

_CONFLICT = "Retryable commit conflict for version 7: preempted by concurrent transaction"
_CONTENTION = "Too many concurrent writers. Failed to commit the transaction after 20 retries."
"""What Lance says when its own retries run out while many writers commit at once."""


@pytest.mark.parametrize("refusal", [_CONFLICT, _CONTENTION], ids=["conflict", "contention"])
def test_a_lost_commit_race_is_committed_again(tmp_path: Path, refusal: str) -> None:
    catalog = Catalog(str(tmp_path / "catalog"), writable=True, retry=QUICK)
    catalog.add_recording(recording("r"))
    calls = []

    def commit() -> int:
        calls.append(time.monotonic())
        if len(calls) <= 2:
            # Other writers commit first: LanceDB refuses this commit.
            raise RuntimeError(refusal)
        return catalog.count(Recording)

    assert catalog._with_conflict_retries(commit, "adding recordings rows") == 1
    assert len(calls) == 3


def test_commit_conflicts_give_up_at_the_policy_timeout(tmp_path: Path) -> None:
    catalog = Catalog(str(tmp_path / "catalog"), writable=True, retry=BRIEF)
    calls = []

    def commit() -> int:
        calls.append(time.monotonic())
        raise RuntimeError(_CONFLICT)

    with Clock() as clock, pytest.raises(CatalogError, match="adding recordings rows failed"):
        catalog._with_conflict_retries(commit, "adding recordings rows")
    assert BRIEF.timeout <= clock.elapsed < GIVE_UP_WITHIN
    assert len(calls) > 2


def test_other_commit_failures_are_not_retried(tmp_path: Path) -> None:
    catalog = Catalog(str(tmp_path / "catalog"), writable=True, retry=QUICK)
    calls = []

    def commit() -> int:
        calls.append(time.monotonic())
        raise RuntimeError("schema mismatch")

    with pytest.raises(CatalogError, match="schema mismatch"):
        catalog._with_conflict_retries(commit, "adding recordings rows")
    assert len(calls) == 1


# -- no retry loop of its own anywhere else ------------------------------------


def _sleeps_in_loops(path: Path) -> list[int]:
    found = []
    for loop in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(loop, ast.For | ast.AsyncFor | ast.While):
            continue
        for node in ast.walk(loop):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "sleep":
                    found.append(node.lineno)
    return found


def test_no_hand_written_retry_loop_outside_the_retry_module() -> None:
    offenders = [
        f"{path.relative_to(LIBRARY.parent)}:{line}"
        for path in sorted(LIBRARY.rglob("*.py"))
        # The testing kit polls servers it starts and paces a fault proxy: no retries.
        if path != RETRY_MODULE and "testing" not in path.relative_to(LIBRARY).parts
        for line in _sleeps_in_loops(path)
    ]
    assert offenders == [], "retry through ursa_lib.store.retrying, not a sleep in a loop"


def test_the_scan_finds_a_sleep_in_a_loop(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import time\nwhile True:\n    try:\n        pass\n    except E:\n        time.sleep(1)\n"
    )
    assert _sleeps_in_loops(sample) == [6]
