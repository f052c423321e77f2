"""The bucket layout: every key Ursa writes, encoded and parsed in one place.

Like zarr's chunk-key encodings, each kind of key has a value object that
encodes to a key (``.key``) and a ``parse`` that decodes a key back, refusing
anything that is not of its shape. No other module builds or splits these
strings.

Raw bucket::

    recordings/<rec_id>/manifest.json            the session's augmented manifest
    recordings/<rec_id>/<worker_dir>/<rel path>  its files, verbatim
    recordings/<rec_id>~<hash12>/…               the same, when <rec_id>/ already
                                                 holds a session with other bytes

Assets bucket::

    processed/<recording_hash>/<modality>/<name>             an asset (eeg.zarr, …)
    processed/<recording_hash>/<modality>/<version>/<name>   a versioned asset,
                                                             written beside older ones
    …/<name>.mp4.lance                                       a video's frame index

``<hash12>`` is the first twelve characters of the recording hash: a second
session under the same ``rec_id`` gets a prefix of its own, and a third with
yet other bytes is refused (the rig must rename it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._errors import InvalidKeyError

__all__ = [
    "ALT_HASH_LENGTH",
    "MANIFEST_NAME",
    "PROCESSED_ROOT",
    "RECORDINGS_ROOT",
    "AssetKey",
    "SessionPrefix",
]

RECORDINGS_ROOT = "recordings/"
"""Where every session lives in the raw bucket (list it to find sessions)."""
PROCESSED_ROOT = "processed/"
"""Where every processed asset lives in the assets bucket."""
MANIFEST_NAME = "manifest.json"
ACTIVE_MARKER = ".recording"
"""A rig that is recording says so with this file, in the session folder or in its
landing directory: nothing of the session is augmented or ingested meanwhile."""
"""The manifest's file name, in a session directory and under a session prefix."""
ALT_HASH_LENGTH = 12
"""Characters of the recording hash in an alternate session prefix."""

_HASH = re.compile(r"[0-9a-f]{64}")
_HASH12 = re.compile(rf"[0-9a-f]{{{ALT_HASH_LENGTH}}}")
FRAME_INDEX_SUFFIX = ".lance"


@dataclass(frozen=True, slots=True)
class SessionPrefix:
    """Where one stored session lives in the raw bucket."""

    rec_id: str
    hash12: str | None = None
    """Set for the alternate prefix ``<rec_id>~<hash12>``."""

    @classmethod
    def candidates(cls, rec_id: str, recording_hash: str) -> tuple[SessionPrefix, SessionPrefix]:
        """The prefix a session claims first, and its alternate if that one is taken."""
        return cls(rec_id), cls(rec_id, recording_hash[:ALT_HASH_LENGTH])

    @classmethod
    def parse(cls, key: str) -> SessionPrefix:
        """The session that ``key`` (a prefix, the manifest or any file of it) belongs to."""
        rest = key.removeprefix(RECORDINGS_ROOT)
        name = rest.split("/", 1)[0]
        if rest == key or not name:
            raise InvalidKeyError(f"{key!r} is not under {RECORDINGS_ROOT}<rec_id>/")
        rec_id, sep, hash12 = name.partition("~")
        if not rec_id or (sep and not _HASH12.fullmatch(hash12)):
            raise InvalidKeyError(
                f"{key!r}: a session prefix is {RECORDINGS_ROOT}<rec_id> or "
                f"{RECORDINGS_ROOT}<rec_id>~<first {ALT_HASH_LENGTH} hex of its hash>"
            )
        return cls(rec_id, hash12 or None)

    @property
    def name(self) -> str:
        """``<rec_id>`` or ``<rec_id>~<hash12>``: the session's folder name."""
        return self.rec_id if self.hash12 is None else f"{self.rec_id}~{self.hash12}"

    @property
    def key(self) -> str:
        """``recordings/<rec_id>`` or ``recordings/<rec_id>~<hash12>``, without a slash."""
        return RECORDINGS_ROOT + self.name

    @property
    def manifest_key(self) -> str:
        return f"{self.key}/{MANIFEST_NAME}"

    def file_key(self, rel_path: str) -> str:
        """The object key of a session file (``rel_path`` as the manifest records it)."""
        return f"{self.key}/{rel_path}"

    def rel_path(self, key: str) -> str:
        """The inverse of `file_key`: a key under this prefix back to its relative path."""
        head = self.key + "/"
        if not key.startswith(head) or key == head:
            raise InvalidKeyError(f"{key!r} is not a file under {head}")
        return key[len(head) :]

    def owns(self, recording_hash: str) -> bool:
        """An alternate prefix names the hash it was made for; the primary owns any."""
        return self.hash12 is None or recording_hash.startswith(self.hash12)


@dataclass(frozen=True, slots=True)
class AssetKey:
    """Where one processed asset lives in the assets bucket.

    ``name`` is the asset's basename (``eeg.zarr``, ``camera.mp4``), which
    downloads keep so each asset opens in place with its own library. A
    ``version`` folder lets a new converter version write beside the asset
    that readers still use, and the catalog row flips to it last.
    """

    recording_hash: str
    modality: str
    name: str
    version: str | None = None

    @classmethod
    def parse(cls, key: str) -> AssetKey:
        """Decode ``processed/<hash>/<modality>/[<version>/]<name>`` (trailing ``/`` allowed)."""
        parts = key.removeprefix(PROCESSED_ROOT).rstrip("/").split("/")
        if not key.startswith(PROCESSED_ROOT) or len(parts) not in (3, 4) or not all(parts):
            raise InvalidKeyError(
                f"{key!r} is not a processed asset key: expected "
                f"{PROCESSED_ROOT}<recording_hash>/<modality>/[<version>/]<name>"
            )
        if not _HASH.fullmatch(parts[0]):
            raise InvalidKeyError(f"{key!r}: {parts[0]!r} is not a recording hash")
        version = parts[2] if len(parts) == 4 else None
        return cls(parts[0], parts[1], parts[-1], version)

    @classmethod
    def tier(cls, recording_hash: str, modality: str) -> str:
        """The prefix holding every asset of one modality (every version), with a slash."""
        return f"{PROCESSED_ROOT}{recording_hash}/{modality}/"

    @property
    def key(self) -> str:
        folder = self.tier(self.recording_hash, self.modality)
        return folder + (self.name if self.version is None else f"{self.version}/{self.name}")

    @property
    def parent(self) -> str:
        """The folder that holds the asset and its sidecars, with a slash."""
        return self.key[: -len(self.name)]

    @property
    def frame_index_key(self) -> str:
        """A video's frame index, beside it: ``<name>.lance`` (``camera.mp4.lance``)."""
        return self.key + FRAME_INDEX_SUFFIX
