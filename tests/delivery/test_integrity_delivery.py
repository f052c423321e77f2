"""The stored manifest is the truth on delivery, and names keep their bytes.

On the local profile and on a real S3 server:

* a file named in Unicode NFD (as macOS writes names) round-trips: augment,
  ingest, download give the same bytes back under the same name bytes;
* an object planted under a recording's prefix is never delivered, even with a
  sha256 metadata value that matches its own bytes, and is named in a warning;
  one without metadata does not make the download fail part-way;
* a listed object that is missing or of another size fails the plan before any
  byte is written; a replaced one fails its manifest sha256 whatever its metadata;
* a backfilled session without a file listing is verified against the
  recording_hash registered for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from ursa_lib import (
    ChecksumMismatchError,
    IncompleteRecordingError,
    LocalProfile,
    ManifestError,
    Store,
    augment,
    download,
    ingest,
    ingest_from_store,
    materialize,
    open_store,
    query,
)
from ursa_lib.catalog import Catalog
from ursa_lib.testing import RAW_BUCKET, MotoS3, RcloneS3, s3_store

NFD_NAME = unicodedata.normalize("NFD", "Messung_Ärger_öl.bin")
assert unicodedata.normalize("NFC", NFD_NAME) != NFD_NAME


@dataclass
class Bucket:
    raw: Store
    server: RcloneS3 | MotoS3 | None

    def plant(self, key: str, body: bytes, metadata: dict[str, str] | None) -> None:
        """Write an object as someone with write access and another tool would."""
        if self.server is None:
            self.raw.put(key, body, metadata=metadata)
        else:
            self.server.rw.boto().put_object(
                Bucket=RAW_BUCKET, Key=key, Body=body, Metadata=metadata or {}
            )


@pytest.fixture(params=["local", "rclone", "moto"])
def bucket(request: pytest.FixtureRequest, tmp_path: Path) -> Bucket:
    if request.param == "local":
        return Bucket(open_store(LocalProfile(root=tmp_path / "ursa"), "raw_rw"), None)
    server: RcloneS3 | MotoS3 = request.getfixturevalue(f"{request.param}_s3")
    return Bucket(s3_store(server.rw, supports_create=server.conditional_writes), server)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(str(tmp_path / "catalog"), writable=True)


def _session(root: Path, names: dict[str, bytes]) -> tuple[Path, str]:
    rec_id = f"rec_{uuid.uuid4().hex[:12]}"
    session = root / rec_id
    for rel, body in names.items():
        (session / rel).parent.mkdir(parents=True, exist_ok=True)
        (session / rel).write_bytes(body)
    rig = {"rec_id": rec_id, "start_time": 1, "duration": 1.0, "participant_id": "p1"}
    (session / "manifest.json").write_text(json.dumps(rig))
    return session, rec_id


FILES = {
    "eeg_0/seg_00000.bin": b"eeg-0" * 1000,
    "eeg_0/seg_00001.bin": b"eeg-1" * 700,
    "camera_0/seg_00000.bin": b"cam-0" * 300,
}


def _ingested(tmp_path: Path, bucket: Bucket, catalog: Catalog) -> tuple[Path, str, str]:
    """(session, prefix, recording_hash) of a fresh session stored and registered."""
    session, _ = _session(tmp_path / "rig", FILES)
    augment(session)
    result = ingest(session / "manifest.json", raw=bucket.raw, catalog=catalog)
    return session, result.prefix, result.recording_hash


def _files_under(dest: Path) -> dict[str, bytes]:
    """The delivered data files (not the catalog rows a download writes in .ursa/)."""
    return {
        p.relative_to(dest).as_posix(): p.read_bytes()
        for p in dest.rglob("*")
        if p.is_file() and ".ursa" not in p.relative_to(dest).parts
    }


def test_an_nfd_name_round_trips_with_its_bytes(
    bucket: Bucket, catalog: Catalog, tmp_path: Path
) -> None:
    body = os.urandom(3000)
    session, _ = _session(tmp_path / "rig", {f"eeg_0/{NFD_NAME}": body, "eeg_0/plain.bin": b"x"})
    manifest = augment(session)
    # The manifest records the name as the filesystem stores it.
    assert NFD_NAME in os.listdir(session / "eeg_0")
    assert f"eeg_0/{NFD_NAME}" in [f.rel_path for f in manifest.files or []]
    result = ingest(session / "manifest.json", raw=bucket.raw, catalog=catalog)
    keys = [i.key for i in bucket.raw.list(f"{result.prefix}/eeg_0")]
    assert f"{result.prefix}/eeg_0/{NFD_NAME}" in keys  # the object key: the same bytes
    dest = tmp_path / "out"
    download(
        query(catalog, status="raw", recording_hash=result.recording_hash), dest, raw=bucket.raw
    )
    folder = dest / result.recording_hash / "eeg"
    assert sorted(os.listdir(folder)) == sorted([NFD_NAME, "plain.bin"])
    assert (folder / NFD_NAME).read_bytes() == body


def test_the_content_hash_does_not_depend_on_the_unicode_form(tmp_path: Path) -> None:
    nfc = unicodedata.normalize("NFC", NFD_NAME)
    one, _ = _session(tmp_path / "a", {f"eeg_0/{NFD_NAME}": b"same"})
    two, _ = _session(tmp_path / "b", {f"eeg_0/{nfc}": b"same"})
    for session in (one, two):  # the same rec_id, so that only the names differ
        data = json.loads((session / "manifest.json").read_text())
        data["rec_id"] = "rec_same"
        (session / "manifest.json").write_text(json.dumps(data))
    assert augment(one).recording_hash == augment(two).recording_hash


def test_a_manifest_naming_another_unicode_form_says_to_re_augment(
    bucket: Bucket, catalog: Catalog, tmp_path: Path
) -> None:
    session, _ = _session(tmp_path / "rig", {f"eeg_0/{NFD_NAME}": b"data"})
    augment(session)
    path = session / "manifest.json"
    data = json.loads(path.read_text())
    for entry in data["files"]:  # as written on a machine that stored NFC names
        entry["rel_path"] = unicodedata.normalize("NFC", entry["rel_path"])
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError, match=r"another Unicode form.*augment"):
        ingest(path, raw=bucket.raw, catalog=catalog)


def test_a_planted_object_is_never_delivered_and_is_named(
    bucket: Bucket, catalog: Catalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, prefix, h = _ingested(tmp_path, bucket, catalog)
    forged = b"not part of the recording"
    bucket.plant(
        f"{prefix}/eeg_0/zz_forged.bin", forged, {"sha256": hashlib.sha256(forged).hexdigest()}
    )
    bucket.plant(f"{prefix}/eeg_0/aa_bare.bin", b"no metadata at all", None)
    dest = tmp_path / "out"
    results = query(catalog, status="raw", recording_hash=h)
    with caplog.at_level(logging.WARNING, logger="ursa.download"):
        paths = download(results, dest, raw=bucket.raw)
    assert _files_under(dest) == {
        f"{h}/eeg/seg_00000.bin": FILES["eeg_0/seg_00000.bin"],
        f"{h}/eeg/seg_00001.bin": FILES["eeg_0/seg_00001.bin"],
        f"{h}/camera/seg_00000.bin": FILES["camera_0/seg_00000.bin"],
    }
    assert len(paths) == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "zz_forged.bin" in text
    assert "aa_bare.bin" in text
    assert warnings[0].unlisted_keys == [  # type: ignore[attr-defined]
        f"{prefix}/eeg_0/aa_bare.bin",
        f"{prefix}/eeg_0/zz_forged.bin",
    ]
    segments = materialize(results[0], raw=bucket.raw)
    assert [k.rsplit("/", 1)[-1] for k, _ in segments["eeg"]] == ["seg_00000.bin", "seg_00001.bin"]


def test_a_missing_or_resized_object_fails_the_plan_before_any_byte(
    bucket: Bucket, catalog: Catalog, tmp_path: Path
) -> None:
    _, prefix, h = _ingested(tmp_path, bucket, catalog)
    results = query(catalog, status="raw", recording_hash=h)
    bucket.raw.delete(f"{prefix}/eeg_0/seg_00001.bin")
    dest = tmp_path / "out"
    with pytest.raises(IncompleteRecordingError, match=r"seg_00001\.bin \(missing\)"):
        download(results, dest, raw=bucket.raw)
    assert not dest.exists() or _files_under(dest) == {}
    with pytest.raises(FileNotFoundError):  # the builtin mix-in
        materialize(results[0], raw=bucket.raw)
    bucket.plant(
        f"{prefix}/eeg_0/seg_00001.bin", b"short", {"sha256": hashlib.sha256(b"short").hexdigest()}
    )
    with pytest.raises(IncompleteRecordingError, match=r"seg_00001\.bin \(5 bytes"):
        download(results, dest, raw=bucket.raw)
    assert not dest.exists() or _files_under(dest) == {}


def test_a_replaced_object_fails_the_manifest_digest_whatever_its_metadata(
    bucket: Bucket, catalog: Catalog, tmp_path: Path
) -> None:
    _, prefix, h = _ingested(tmp_path, bucket, catalog)
    other = b"E" * len(FILES["eeg_0/seg_00001.bin"])  # same size, other bytes
    bucket.plant(
        f"{prefix}/eeg_0/seg_00001.bin", other, {"sha256": hashlib.sha256(other).hexdigest()}
    )
    results = query(catalog, status="raw", recording_hash=h)
    with pytest.raises(ChecksumMismatchError, match=r"seg_00001\.bin"):
        download(results, tmp_path / "out", raw=bucket.raw)
    assert not list((tmp_path / "out").rglob("seg_00001.bin*"))
    with pytest.raises(ChecksumMismatchError, match=r"seg_00001\.bin"):
        materialize(results[0], raw=bucket.raw)


def test_a_backfill_without_a_listing_is_verified_by_its_recording_hash(
    bucket: Bucket, catalog: Catalog, tmp_path: Path
) -> None:
    rec_id = f"rec_{uuid.uuid4().hex[:12]}"
    prefix = f"recordings/{rec_id}"
    rig = {"rec_id": rec_id, "start_time": 5, "duration": 2.0, "participant_id": "p7"}
    bucket.raw.put(f"{prefix}/manifest.json", json.dumps(rig).encode())
    for rel, body in FILES.items():
        bucket.raw.put(
            f"{prefix}/{rel}", body, metadata={"sha256": hashlib.sha256(body).hexdigest()}
        )
    h = ingest_from_store(rec_id, raw=bucket.raw, catalog=catalog).recording_hash
    results = query(catalog, status="raw", recording_hash=h)
    download(results, tmp_path / "ok", raw=bucket.raw)
    assert len(_files_under(tmp_path / "ok")) == 3
    forged = b"planted later"
    bucket.plant(
        f"{prefix}/eeg_0/seg_00002.bin", forged, {"sha256": hashlib.sha256(forged).hexdigest()}
    )
    dest = tmp_path / "out"
    with pytest.raises(ChecksumMismatchError, match="no longer hash to recording"):
        download(results, dest, raw=bucket.raw)
    assert not dest.exists() or _files_under(dest) == {}
