"""Every error Ursa raises on purpose.

The tree::

    UrsaError
    ├── ConfigError (ValueError)             bad or missing profile setting
    ├── InvalidUriError (ValueError)         not an s3:// or file:// URI of this profile
    ├── NothingMatchedError (LookupError)    a query a verb needs matched nothing
    ├── ManifestError (ValueError)           a manifest cannot be trusted; says what to fix
    ├── SourceChangedError (ValueError)      a local file changed while being uploaded
    ├── CopiedSessionError (ValueError)      a session holding a catalogued recording's
    │                                        bytes under another rec_id; nothing uploaded
    ├── DeletedRecordingError (ValueError)   a session whose recording was deleted (its
    │                                        audit says so); not ingested again unless allowed
    ├── InvalidValueError (ValueError)       an argument or field breaks a documented rule
    ├── MissingParticipantError (ValueError, LookupError)
    │                                        no participant given nor in the manifest
    ├── DeliveryError                        a download/materialize refused before any byte
    │   ├── NotDeliverableError (ValueError) a row that cannot be delivered as asked
    │   ├── IncompleteRecordingError (FileNotFoundError)  the bucket lacks a file of the
    │   │                                    recording's manifest, or holds it at another size
    │   ├── UnsafeDestinationError (ValueError, NotADirectoryError)
    │   │                                    a key or symbolic link would lead outside dest
    │   └── DestinationExistsError (FileExistsError)  destination files already there
    ├── WritesNotEnabledError (PermissionError)  a write verb of a DataInterface
    │                                        before enable_writes()
    ├── CatalogError                         the catalog could not do it
    │   ├── PrimaryKeyConflict               strict add of a key that exists
    │   ├── CatalogRowExists                 register of a different row under a
    │   │                                    stored key; carries the field diff
    │   ├── InvalidRowError (ValueError)     a row breaks a storage-URI invariant
    │   ├── InvalidTransitionError           a modality status change not allowed
    │   └── CatalogReadOnlyError (PermissionError)  write through a read-only
    │                                        catalog; refused before any request
    └── ObjectStoreError                     permanent store failure; names the URI/key
        ├── ObjectNotFoundError (FileNotFoundError)
        ├── ObjectExistsError (FileExistsError)      put-if-absent lost the race
        ├── ObjectChangedError                       object replaced while being read
        ├── ChecksumMismatchError                    bytes read do not match their
        │                                            recorded sha256; nothing kept
        ├── InvalidKeyError (ValueError)             key fails Ursa's key rules
        ├── AccessDeniedError (PermissionError)      the server refused the credentials
        ├── WriteRefusedError (PermissionError)      write through a read-only role;
        │                                            refused before any request
        └── ObjectStoreTransientError                timeouts, resets, 5xx, throttling,
                                                     raised only once retries are spent

Catch ``ObjectStoreError`` for "the store could not do it". Generic callers keep
working through the builtin mix-ins: a missing object is a ``FileNotFoundError``,
a refused write a ``PermissionError``.
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "CatalogError",
    "CatalogReadOnlyError",
    "CatalogRowExists",
    "ChecksumMismatchError",
    "ConfigError",
    "CopiedSessionError",
    "DeletedRecordingError",
    "DeliveryError",
    "DestinationExistsError",
    "IncompleteRecordingError",
    "InvalidKeyError",
    "InvalidRowError",
    "InvalidTransitionError",
    "InvalidUriError",
    "InvalidValueError",
    "ManifestError",
    "MissingParticipantError",
    "NotDeliverableError",
    "NothingMatchedError",
    "ObjectChangedError",
    "ObjectExistsError",
    "ObjectNotFoundError",
    "ObjectStoreError",
    "ObjectStoreTransientError",
    "PrimaryKeyConflict",
    "SourceChangedError",
    "UnsafeDestinationError",
    "UrsaError",
    "WriteRefusedError",
    "WritesNotEnabledError",
]


class UrsaError(Exception):
    """Root of every error Ursa raises on purpose."""


class ConfigError(UrsaError, ValueError):
    """A profile is unknown, incomplete or invalid; the message names the setting."""


class InvalidUriError(UrsaError, ValueError):
    """A storage URI is malformed, of an unsupported scheme, or outside the profile's buckets."""


class NothingMatchedError(UrsaError, LookupError):
    """A query a verb needs matched nothing; the message shows the filters."""


class ManifestError(UrsaError, ValueError):
    """A manifest cannot be trusted; the message says what to fix."""


class SourceChangedError(UrsaError, ValueError):
    """A file's bytes did not match what was expected while it was uploaded.

    The upload was abandoned; nothing was stored. ``path`` names the file, when
    the source was one.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class CopiedSessionError(UrsaError, ValueError):
    """A session whose files the catalog already holds as a recording under another ``rec_id``.

    Refused before any byte is uploaded: the message names both sessions.
    """


class DeletedRecordingError(UrsaError, ValueError):
    """A session whose recording was deleted: a ``deletions`` row (the delete's audit)
    names its recording hash. Refused before any byte is uploaded or registered, so
    that no ingest, sweep or backfill brings back what a delete took away (consent
    withdrawn, say); ``allow_deleted=True`` ingests it again on purpose.
    """


class InvalidValueError(UrsaError, ValueError):
    """An argument or field value breaks a documented rule; the message names it and the rule."""


class MissingParticipantError(UrsaError, ValueError, LookupError):
    """No participant was passed and the manifest names none."""


class DeliveryError(UrsaError):
    """A download or materialize was refused while planning, before any byte moved."""


class NotDeliverableError(DeliveryError, ValueError):
    """A row cannot be delivered as asked (its status, the source chosen, the layout)."""


class IncompleteRecordingError(DeliveryError, FileNotFoundError):
    """The bucket does not hold every file of the recording's manifest with its listed
    size. Found while planning; nothing was written."""

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri


class UnsafeDestinationError(DeliveryError, ValueError, NotADirectoryError):
    """A key or a symbolic link would lead a write outside the destination folder."""


class DestinationExistsError(DeliveryError, FileExistsError):
    """Destination files already exist; all of them are named in the message."""


class WritesNotEnabledError(UrsaError, PermissionError):
    """A write verb was called on a `DataInterface` still in read-only mode."""


class CatalogError(UrsaError):
    """A catalog operation failed; the message names the table and key."""


class PrimaryKeyConflict(CatalogError):
    """A strict ``add`` found its primary key already stored."""


class CatalogRowExists(CatalogError):
    """``register`` found a different row under the same key.

    ``diff`` maps each differing field to ``(stored, proposed)``.
    """

    def __init__(self, table: str, key: tuple[object, ...], diff: dict[str, tuple[object, object]]):
        fields = ", ".join(f"{k}: {s!r} → {p!r}" for k, (s, p) in diff.items())
        super().__init__(
            f"{table} already holds a different row for key {key!r} ({fields}); "
            "registering is idempotent only for identical rows"
        )
        self.table = table
        self.key = key
        self.diff = diff


class InvalidRowError(CatalogError, ValueError):
    """A row breaks a catalog invariant; the message names the field and the rule."""


class InvalidTransitionError(CatalogError):
    """A modality status change that the state machine does not allow."""


class CatalogReadOnlyError(CatalogError, PermissionError):
    """A write through a catalog opened read-only. No request was sent."""


class ObjectStoreError(UrsaError):
    """A store operation failed for good. The message names the URI or key."""

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri


class ObjectNotFoundError(ObjectStoreError, FileNotFoundError):
    """No object at the key."""


class ObjectExistsError(ObjectStoreError, FileExistsError):
    """A create-only write found an object already at the key."""


class ObjectChangedError(ObjectStoreError):
    """The object was replaced while it was being read; the read was abandoned."""


class ChecksumMismatchError(ObjectStoreError):
    """The bytes read do not hash to the sha256 recorded for them (in the object's
    metadata or the session manifest); the partial file was removed."""


class InvalidKeyError(ObjectStoreError, ValueError):
    """A key breaks Ursa's key rules (see ``validate_key``)."""


class AccessDeniedError(ObjectStoreError, PermissionError):
    """The server refused the request: wrong credentials or missing permission."""


class WriteRefusedError(ObjectStoreError, PermissionError):
    """A write was attempted through a read-only role. No request was sent."""


class ObjectStoreTransientError(ObjectStoreError):
    """A transient failure outlasted every retry.

    Raised only after the library's own retries are exhausted, so an orchestrator
    may reasonably try the whole step again later.
    """

    def __init__(
        self, message: str, *, uri: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, uri=uri)
        self.retry_after = retry_after
