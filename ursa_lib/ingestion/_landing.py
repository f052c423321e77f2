"""Landing directories: where rigs leave finished sessions for ingest.

A landing directory holds one folder per session, each with a
``manifest.json``. `scan_landing` finds the sessions whose manifest is new or
changed since a cursor, and reads only those: each call stats one file per
session folder (cheap) and parses only manifests newer than the cursor, so a
scan of 10,000 sessions of which 10 are new reads 10 manifests. "Newer" goes
by the time the manifest last changed on this filesystem (its ctime), so a
session copied in with its old times kept (``rsync -a``, ``cp -p``) is new
when it arrives, not when the rig wrote it.

A manifest that is not augmented yet, or is still being written (invalid
JSON), is passed over; augmenting rewrites it, which makes it new again.

A rig that is recording says so with a marker file, ``.recording``, in the
session folder or in the landing directory itself; `rig_active` checks both,
and ingest pauses while it exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .._layout import ACTIVE_MARKER
from ._manifest import MANIFEST_NAME

__all__ = ["ACTIVE_MARKER", "LandingSession", "rig_active", "scan_landing"]


@dataclass(frozen=True, slots=True)
class LandingSession:
    rec_id: str
    path: Path
    """The session folder."""
    recording_hash: str
    mtime_ns: int
    """When its manifest last changed here: the later of its mtime and ctime (part
    of the run key)."""
    rig: str
    """``device_info.rig`` from the manifest, else the landing directory's name."""


def rig_active(session: Path) -> bool:
    """True while the rig is recording (a ``.recording`` marker is present)."""
    return (session / ACTIVE_MARKER).exists() or (session.parent / ACTIVE_MARKER).exists()


def _read(folder: Path, mtime_ns: int) -> LandingSession | None:
    try:
        data = json.loads((folder / MANIFEST_NAME).read_bytes())
    except (OSError, ValueError):
        return None  # gone, or still being written
    if not isinstance(data, dict):
        return None
    rec_id, digest = data.get("rec_id"), data.get("recording_hash")
    if not isinstance(rec_id, str) or not isinstance(digest, str) or "files" not in data:
        return None  # not augmented yet
    device = data.get("device_info")
    rig = device.get("rig") if isinstance(device, dict) else None
    return LandingSession(
        rec_id=rec_id,
        path=folder,
        recording_hash=digest,
        mtime_ns=mtime_ns,
        rig=str(rig) if rig else folder.parent.name,
    )


def scan_landing(
    landing_dirs: list[Path], cursor: str | None = None
) -> tuple[list[LandingSession], str]:
    """Augmented sessions new since ``cursor``, and the cursor to store next.

    The cursor records, per landing directory, the newest manifest time seen and
    the folders at exactly that time, so nothing written in the same clock tick
    is missed or seen twice.
    """
    state: dict[str, dict[str, object]] = json.loads(cursor) if cursor else {}
    found: list[LandingSession] = []
    for landing in landing_dirs:
        mark = state.get(str(landing), {})
        since = int(mark.get("ns", 0))  # type: ignore[call-overload]
        seen_at_since = set(mark.get("at", []))  # type: ignore[call-overload]
        newest, at_newest = since, set(seen_at_since)
        try:
            entries = list(os.scandir(landing))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                stat = os.stat(os.path.join(entry.path, MANIFEST_NAME))
            except (FileNotFoundError, NotADirectoryError):
                continue
            # The change time, not the modification time: a session copied in with
            # its times kept (rsync -a, cp -p) has an old mtime, but its ctime is
            # when it arrived here (setting a file's mtime sets its ctime to now).
            mtime = max(stat.st_mtime_ns, stat.st_ctime_ns)
            if mtime < since or (mtime == since and entry.name in seen_at_since):
                continue
            session = _read(Path(entry.path), mtime)
            if mtime > newest:
                newest, at_newest = mtime, {entry.name}
            elif mtime == newest:
                at_newest.add(entry.name)
            if session is not None:
                found.append(session)
        state[str(landing)] = {"ns": newest, "at": sorted(at_newest)}
    found.sort(key=lambda s: (s.mtime_ns, s.rec_id))
    return found, json.dumps(state, sort_keys=True)
