"""Session manifests: what the rig wrote, plus what ``augment`` adds.

The rig writes the descriptive part of ``manifest.json``. `augment` adds, for
every file under the session directory (the manifest itself excepted), its
``rel_path``, ``size`` and ``sha256``, and the content-addressed
``recording_hash``: the sha256 of the canonical listing, one line per file,

    <NFC(rel_path)>\\t<size>\\t<sha256>\\n

sorted by that NFC path (compared as UTF-8 bytes), with ``/`` separators. Same
bytes give the same hash on any machine, whichever Unicode form the machine
stored the names in; any byte changed gives a new one.

``rel_path`` records each name exactly as the filesystem stores it: a name that
macOS wrote in NFD stays NFD, so ingest opens the very file augment hashed, and
the object key (``recordings/<rec_id>/<rel_path>``) and a downloaded file carry
the same name bytes again. Names are never normalised on the way; two names that
differ only in their Unicode form are refused, because object stores such as R2
would merge them.

`load_manifest` refuses, before anything is uploaded or registered, every
manifest that cannot be trusted, with a message that says what to fix.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import stat
import tempfile
import unicodedata
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    ValidationError,
    field_validator,
)

from .._errors import InvalidValueError, ManifestError
from .._layout import ACTIVE_MARKER, MANIFEST_NAME
from .._text import listed
from .._types import EpochNs, Identifier, Metadata

__all__ = [
    "MANIFEST_NAME",
    "FileEntry",
    "Manifest",
    "ManifestError",
    "augment",
    "load_manifest",
    "recording_hash",
]

_TMP_PREFIX = ".manifest.json.tmp-"

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class FileEntry(BaseModel):
    """One file of the session, as augment recorded it."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    rel_path: str = Field(min_length=1)
    """Path relative to the session directory, ``/``-separated, in the bytes the
    filesystem stores (never Unicode-normalised); also the object key's tail."""
    size: int = Field(ge=0)
    """Size in bytes."""
    sha256: Sha256
    """sha256 of the file's bytes, lowercase hex."""


class Manifest(BaseModel):
    """``manifest.json``: the rig's description, plus the file listing once augmented."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    rec_id: Identifier
    """The rig's name for the session."""
    start_time: EpochNs
    """When recording started (epoch ns)."""
    duration: float = Field(ge=0, allow_inf_nan=False)
    """Length in seconds."""
    device_info: Metadata = Field(default_factory=dict)
    """Rig and device description."""
    metadata: Metadata = Field(default_factory=dict)
    """Free-form JSON attributes."""
    participant_id: Identifier | None = None
    """The participant, if the rig knows it."""
    streams: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)
    """Optional stream descriptions, keyed by worker directory (read by processing)."""
    files: list[FileEntry] | None = None
    """Every file of the session (added by augment)."""
    recording_hash: Sha256 | None = None
    """Content hash of the listing (added by augment)."""

    @field_validator("streams")
    @classmethod
    def _streams_name_worker_dirs(
        cls, value: dict[str, dict[str, JsonValue]]
    ) -> dict[str, dict[str, JsonValue]]:
        for name in value:
            if not name or "/" in name or name in (".", ".."):
                raise ValueError(
                    f"streams: {name!r} is not a worker directory name; key each description "
                    "by the name of a top-level folder of the session (e.g. 'eeg_0')"
                )
        return value

    @property
    def augmented(self) -> bool:
        return self.files is not None and self.recording_hash is not None

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files or ())


def recording_hash(files: Iterable[FileEntry]) -> str:
    """sha256 of the canonical listing (see the module docstring)."""
    digest = hashlib.sha256()
    lines = sorted(
        (unicodedata.normalize("NFC", f.rel_path).encode("utf-8"), f.size, f.sha256) for f in files
    )
    for name, size, sha256 in lines:
        digest.update(name + f"\t{size}\t{sha256}\n".encode())
    return digest.hexdigest()


def _hash_file(path: Path) -> tuple[int, str]:
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        # file_digest reads in large blocks and hashes without holding the GIL,
        # so threads hash files in parallel.
        return size, hashlib.file_digest(handle, "sha256").hexdigest()


def _session_files(session: Path) -> list[tuple[str, Path]]:
    """Every file to list, as (rel_path, path); refuses what cannot be listed, and a
    session its rig is still recording (its ``.recording`` marker is there)."""
    if (session / ACTIVE_MARKER).exists():
        raise ManifestError(
            f"{session} is still being recorded ({ACTIVE_MARKER} is there): augment and "
            "ingest it once the rig has stopped and removed the marker"
        )
    root = session.resolve()
    found: list[tuple[str, Path]] = []
    seen: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(session, followlinks=False):
        base = Path(dirpath)
        for name in sorted(dirnames):
            path = base / name
            if path.is_symlink():
                raise ManifestError(
                    f"{path} is a symbolic link to a directory; copy the data into the "
                    "session directory instead"
                )
        for name in sorted(filenames):
            path = base / name
            rel = path.relative_to(session).as_posix()
            if rel == MANIFEST_NAME or name.startswith(_TMP_PREFIX):
                continue
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                raise ManifestError(
                    f"{rel.encode('utf-8', 'surrogateescape')!r}: a file name that is not "
                    "UTF-8; rename it (object keys are UTF-8)"
                ) from None
            problem = _check_rel_path(rel)
            if problem is not None:  # what ingest would refuse: refused now, by name
                raise ManifestError(f"file {rel!r} {problem}; rename it in the session")
            _check_regular(path, root, rel)
            nfc = unicodedata.normalize("NFC", rel)
            if nfc in seen:
                raise ManifestError(
                    f"{seen[nfc]!r} and {rel!r} are the same name after Unicode NFC "
                    "normalisation (object stores such as R2 would merge them); rename one"
                )
            seen[nfc] = rel
            found.append((rel, path))
    return found


def _check_regular(path: Path, root: Path, rel: str) -> None:
    try:
        st = path.stat()  # follows links: loops and dangling links fail here
    except OSError as exc:
        raise ManifestError(
            f"{rel}: cannot be read as a file ({exc.strerror}); remove it from the session "
            "directory (broken or looping symbolic link?)"
        ) from None
    if not stat.S_ISREG(st.st_mode):
        raise ManifestError(
            f"{rel} is not a regular file (FIFO, device or socket); remove it from the "
            "session directory"
        )
    if path.is_symlink() and root not in path.resolve().parents:
        raise ManifestError(f"{rel} is a symbolic link that leaves the session directory")


def _read(manifest_path: Path) -> dict[str, Any]:
    try:
        text = manifest_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(
            f"{manifest_path} does not exist; the rig writes it at the session's root"
        ) from None
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"{manifest_path} is not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8"
        ) from None
    except OSError as exc:  # a folder, a file it cannot read, or a session that is a file
        raise ManifestError(
            f"{manifest_path} cannot be read ({exc.strerror}); the session is a folder with "
            "its manifest.json file at its root"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{manifest_path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); fix the file"
        ) from None
    if not isinstance(data, dict):
        raise ManifestError(f"{manifest_path} must hold a JSON object")
    return data


def parse_manifest(manifest_path: Path | str, data: dict[str, Any]) -> Manifest:
    """Validate manifest data; `ManifestError` lists missing, unknown and bad fields."""
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "(top level)"
            if error["type"] == "missing":
                problems.append(f"missing field {where!r}")
            elif error["type"] == "extra_forbidden":
                problems.append(f"unknown field {where!r}" + _closest(error["loc"]))
            else:
                problems.append(f"{where}: {error['msg']}")
        raise ManifestError(f"{manifest_path}: " + "; ".join(problems)) from None


def _closest(loc: tuple[int | str, ...]) -> str:
    """`` (did you mean 'start_time'?)`` for a misspelt field, else ''."""
    model: type[BaseModel] = Manifest
    if len(loc) == 3 and loc[0] == "files":
        model = FileEntry
    elif len(loc) != 1:
        return ""
    match = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    """``data`` as ``path``, replaced whole; the file keeps its mode (mkstemp's 0600
    would lock out a service user that reads the rig's manifests)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2, ensure_ascii=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def augment(session_dir: Path, *, workers: int | None = None) -> Manifest:
    """Hash every file of the session and rewrite its manifest atomically.

    Files are hashed in parallel (``workers`` threads, default: one per core).
    Re-augmenting an unchanged session yields the same manifest.
    """
    session = Path(session_dir)
    manifest_path = session / MANIFEST_NAME
    data = _read(manifest_path)
    data.pop("files", None)
    data.pop("recording_hash", None)
    parse_manifest(manifest_path, data)  # the rig's part must be valid before we hash anything
    files = _session_files(session)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise InvalidValueError(
            f"augment's workers is how many files to hash at once, 1 or more; got {workers!r}"
        )
    with ThreadPoolExecutor(workers or os.cpu_count() or 1, "ursa-hash") as pool:
        digests = list(pool.map(lambda item: _hash_file(item[1]), files))
    entries = [
        FileEntry(rel_path=rel, size=size, sha256=digest)
        for (rel, _), (size, digest) in zip(files, digests, strict=True)
    ]
    entries.sort(key=lambda e: e.rel_path.encode("utf-8"))
    data["files"] = [e.model_dump() for e in entries]
    data["recording_hash"] = recording_hash(entries)
    manifest = parse_manifest(manifest_path, data)
    _write_atomic(manifest_path, data)
    return manifest


def _other_form_hint(path: Path, session: Path) -> str:
    """A hint when the file is there under another Unicode form of its name."""
    wanted = unicodedata.normalize("NFC", path.name)
    try:
        names = os.listdir(path.parent)
    except OSError:
        return ""
    for name in names:
        if name != path.name and unicodedata.normalize("NFC", name) == wanted:
            return (
                f" (a file {name!r} is there, the same name in another Unicode form: the "
                f"manifest was written elsewhere; re-run `ursa manifest augment {session}`)"
            )
    return ""


def _check_rel_path(rel: str) -> str | None:
    if rel.startswith("/") or (len(rel) > 1 and rel[1] == ":"):
        return "is absolute; paths must be relative to the session directory"
    if "\\" in rel:
        return "contains a backslash; use '/' between directories"
    parts = rel.split("/")
    if ".." in parts:
        return "contains '..'; paths must stay inside the session directory"
    if any(p in ("", ".") for p in parts):
        return "has an empty or '.' segment"
    if any(unicodedata.category(c) == "Cc" for c in rel):
        return "contains a control character"
    if rel == MANIFEST_NAME:
        return "is the manifest itself"
    return None


def load_manifest(manifest_path: Path, source_dir: Path | None = None) -> Manifest:
    """Read and check an augmented manifest against the files on disk.

    Raises `ManifestError` (saying what to fix) if the manifest is not valid
    JSON, lacks or adds fields, is not augmented, lists a path that is absolute,
    contains ``..``, escapes the session (symbolic links included) or collides
    with another after NFC normalisation, lists a path twice, lists a file that
    is missing, not a regular file or of another size, misses a file that is in
    the directory, or carries a ``recording_hash`` that does not match its
    listing.
    """
    manifest_path = Path(manifest_path)
    session = Path(source_dir) if source_dir is not None else manifest_path.parent
    manifest = parse_manifest(manifest_path, _read(manifest_path))
    if not manifest.augmented:
        raise ManifestError(
            f"{manifest_path} is not augmented (no files/recording_hash); run "
            f"`ursa manifest augment {session}` first"
        )
    assert manifest.files is not None
    root = session.resolve()
    seen: dict[str, str] = {}
    for entry in manifest.files:
        problem = _check_rel_path(entry.rel_path)
        if problem:
            raise ManifestError(f"{manifest_path}: rel_path {entry.rel_path!r} {problem}")
        nfc = unicodedata.normalize("NFC", entry.rel_path)
        if nfc in seen:
            what = "twice" if seen[nfc] == entry.rel_path else f"twice (as {seen[nfc]!r} after NFC)"
            raise ManifestError(f"{manifest_path}: {entry.rel_path!r} is listed {what}")
        seen[nfc] = entry.rel_path
        path = session / entry.rel_path
        if root not in path.resolve().parents:
            raise ManifestError(
                f"{manifest_path}: {entry.rel_path!r} leads outside the session directory "
                "through a symbolic link"
            )
        if not path.exists():
            raise ManifestError(
                f"{manifest_path}: listed file {entry.rel_path!r} is missing from {session}"
                + _other_form_hint(path, session)
            )
        _check_regular(path, root, entry.rel_path)
        size = path.stat().st_size
        if size != entry.size:
            raise ManifestError(
                f"{manifest_path}: {entry.rel_path!r} is {size} bytes on disk but the manifest "
                f"says {entry.size}; it changed after augment — re-run `ursa manifest augment "
                f"{session}`"
            )
    if recording_hash(manifest.files) != manifest.recording_hash:
        raise ManifestError(
            f"{manifest_path}: recording_hash does not match the file listing (edited by hand?); "
            f"re-run `ursa manifest augment {session}`"
        )
    in_manifest = set(seen.values())
    extra = [rel for rel, _ in _session_files(session) if rel not in in_manifest]
    if extra:
        shown = listed((repr(r) for r in extra), limit=5)
        raise ManifestError(
            f"{manifest_path}: files in {session} are not in the manifest ({shown}); they were "
            f"added after augment — re-run `ursa manifest augment {session}`"
        )
    return manifest
