"""Stores tuned for tests: small multipart parts and quick retries."""

from __future__ import annotations

from ..store import ObstoreBackend, RetryPolicy, Store, TimeoutSettings, TransferSettings
from ._servers import RAW_BUCKET, Endpoint

MiB = 1024 * 1024

SMALL_TRANSFER = TransferSettings(
    single_put_limit=5 * MiB,
    part_size=5 * MiB,
    read_chunk=256 * 1024,
    range_size=5 * MiB,
    parallel_download_threshold=12 * MiB,
)
"""Small parts keep multipart tests fast while staying within S3's 5 MiB
minimum: a 12 MiB object is a three-part upload and a parallel download."""

FAST_RETRY = RetryPolicy(attempts=6, wait_initial=0.05, wait_max=0.5, wait_jitter=0.05)
"""Six attempts within about a second: injected faults are retried, slow tests are not."""


def s3_store(
    endpoint: Endpoint,
    *,
    bucket: str = RAW_BUCKET,
    writable: bool = True,
    supports_create: bool = True,
    url: str | None = None,
    timeouts: TimeoutSettings | None = None,
    retry: RetryPolicy = FAST_RETRY,
    transfer: TransferSettings = SMALL_TRANSFER,
) -> Store:
    """A `Store` on ``bucket`` at ``endpoint`` (or at ``url`` with the endpoint's
    keys, e.g. through a `FaultProxy`), with the role ``raw_rw`` or ``raw_ro``."""
    backend = ObstoreBackend.s3(
        bucket=bucket,
        endpoint=url or endpoint.url,
        region="us-east-1",
        credentials=endpoint.credentials,
        supports_create=supports_create,
        timeouts=timeouts,
    )
    return Store(
        backend,
        role="raw_rw" if writable else "raw_ro",
        writable=writable,
        retry=retry,
        transfer=transfer,
    )
