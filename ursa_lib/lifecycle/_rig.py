"""Verified rig cleanup: a session's local files go only once the archive is proven to hold them.

`clean_session` deletes a rig's session directory only after it checks, in
this order, and refuses naming everything that is missing otherwise:

1. the rig is not recording into it (no ``.recording`` marker);
2. its manifest is augmented and matches the disk (`load_manifest`), and
   every file on the rig still hashes to the manifest's sha256 (one changed
   at its size after augment is not what the archive holds);
3. the raw bucket holds every listed file under the session's prefix with the
   listed size, ``sha256`` metadata equal to the manifest's, *and* bytes that
   hash to it (each object is read back: the rig's copy may be the last good one);
4. the recording row exists in the catalog.

A dry run does every check and deletes nothing. Deleting removes the listed
files, the manifest last, then the folders left empty, so a cleanup killed
half way can simply be run again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import ObjectNotFoundError, UrsaError
from .._layout import MANIFEST_NAME, SessionPrefix
from .._text import listed
from ..ingestion import load_manifest, load_stored_manifest, rig_active
from ._checks import stored_sha256

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..store import Store

__all__ = ["RigCleanRefused", "RigCleanResult", "clean_session"]


class RigCleanRefused(UrsaError, RuntimeError):
    """The session cannot be deleted from the rig yet; the message says what is missing."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RigCleanResult:
    session_dir: Path
    recording_hash: str
    raw_prefix: str
    files: int
    bytes: int
    dry_run: bool
    deleted: bool


def _stored_home(raw: Store, rec_id: str, recording_hash: str) -> SessionPrefix | None:
    for session in SessionPrefix.candidates(rec_id, recording_hash):
        try:
            stored = load_stored_manifest(raw, session)
        except ObjectNotFoundError:
            continue
        if stored.recording_hash == recording_hash:
            return session
    return None


def _local_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def clean_session(
    session_dir: Path, *, raw: Store, catalog: Catalog, dry_run: bool = False
) -> RigCleanResult:
    """Delete ``session_dir`` from the rig once the archive holds all of it (see the module)."""
    session_dir = Path(session_dir)
    if rig_active(session_dir):
        raise RigCleanRefused(f"{session_dir} is being recorded (its .recording marker is there)")
    manifest = load_manifest(session_dir / MANIFEST_NAME, session_dir)
    assert manifest.files is not None
    assert manifest.recording_hash is not None
    home = _stored_home(raw, manifest.rec_id, manifest.recording_hash)
    if home is None:
        raise RigCleanRefused(
            f"{session_dir}: the raw bucket holds no manifest of recording "
            f"{manifest.recording_hash} under {SessionPrefix(manifest.rec_id).key}/; "
            "ingest it first"
        )
    stored = {i.key: i for i in raw.list(home.key)}
    problems: list[str] = []
    changed: list[str] = []  # on the rig, since augment
    for entry in manifest.files:
        key = home.file_key(entry.rel_path)
        info = stored.get(key)
        if info is None:
            problems.append(f"{entry.rel_path} (missing)")
        elif info.size != entry.size:
            problems.append(f"{entry.rel_path} ({info.size} bytes stored, {entry.size} listed)")
        elif (raw.head(key).metadata or {}).get("sha256") != entry.sha256:
            problems.append(f"{entry.rel_path} (stored sha256 metadata differs)")
        elif stored_sha256(raw, key) != entry.sha256:  # its bytes, not what they were said
            problems.append(
                f"{entry.rel_path} (the stored bytes no longer hash to its sha256: re-send it "
                "with ursa ingest --overwrite)"
            )
        elif _local_sha256(session_dir / entry.rel_path) != entry.sha256:
            changed.append(entry.rel_path)
    if catalog.get_recording(manifest.recording_hash) is None:
        problems.append(f"the catalog has no recording row {manifest.recording_hash}")
    if problems:
        raise RigCleanRefused(
            f"refusing to delete {session_dir}: {raw.base_uri}{home.key}/ does not hold it "
            f"all: {listed(problems)}; re-run ingest, then clean again"
        )
    if changed:
        raise RigCleanRefused(
            f"refusing to delete {session_dir}: the rig's copy of {listed(changed)} changed "
            "after augment, so the archive (intact) does not hold it. To archive the change, "
            "augment the session again and ingest it (a new recording); if the rig's copy is "
            "damaged, the archive's is the good one"
        )
    total = sum(f.size for f in manifest.files)
    if not dry_run:
        for entry in manifest.files:
            (session_dir / entry.rel_path).unlink(missing_ok=True)
        (session_dir / MANIFEST_NAME).unlink(missing_ok=True)
        for folder, _, _ in sorted(os.walk(session_dir), key=lambda w: -len(w[0])):
            # A folder that is not empty holds something the manifest does not list: kept.
            with contextlib.suppress(OSError):
                Path(folder).rmdir()
    return RigCleanResult(
        session_dir=session_dir,
        recording_hash=manifest.recording_hash,
        raw_prefix=raw.base_uri + home.key + "/",
        files=len(manifest.files),
        bytes=total,
        dry_run=dry_run,
        deleted=not dry_run,
    )
