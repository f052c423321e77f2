"""Storage formats of processed assets: an open registry of names and suffixes.

A converter declares each format it writes with `register_storage_format`; the
catalog then accepts processed assets in that format, at keys ending in its
suffix. zarr, lance, mp4 and parquet are registered when the catalog is imported.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import GetCoreSchemaHandler, ValidationInfo
from pydantic_core import CoreSchema, core_schema

from .._errors import InvalidValueError

__all__ = ["STORED_ROW", "StorageFormat", "register_storage_format", "storage_formats"]

STORED_ROW = "ursa.stored_row"
"""Validation-context flag: the row was read from the catalog. Its format was
checked when it was written, so a format whose converter this process has not
imported is kept rather than refused: reading never depends on what is loaded."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_SUFFIX = re.compile(r"^\.[a-z0-9][a-z0-9._-]{0,31}$")
_lock = threading.Lock()
_suffixes: dict[str, str] = {}


class StorageFormat(str):
    """A storage format's name, checked against the registry; it fixes the suffix.

    ``StorageFormat("zarr")``, or a plain ``"zarr"`` in a row, is accepted only
    if registered (`ValueError` lists the registered names otherwise). The
    built-ins are also constants: ``StorageFormat.ZARR``, ``.LANCE``, ``.MP4``,
    ``.PARQUET``. Compares and hashes as its name.
    """

    __slots__ = ()

    ZARR: ClassVar[StorageFormat]
    LANCE: ClassVar[StorageFormat]
    MP4: ClassVar[StorageFormat]
    PARQUET: ClassVar[StorageFormat]

    def __new__(cls, name: str) -> StorageFormat:
        name = str(name)
        if name not in _suffixes:
            raise InvalidValueError(
                f"unknown storage format {name!r}; registered: {', '.join(sorted(_suffixes))} "
                "(a converter declares its formats with register_storage_format)"
            )
        return super().__new__(cls, name)

    @classmethod
    def _stored(cls, name: str) -> StorageFormat:
        """A format read from the catalog, registered in this process or not."""
        return super().__new__(cls, name)

    @property
    def value(self) -> str:
        """The name, as plain text."""
        return str.__str__(self)

    @property
    def suffix(self) -> str:
        """The suffix an asset of this format ends in (``.zarr`` for zarr)."""
        try:
            return _suffixes[self.value]
        except KeyError:
            raise InvalidValueError(
                f"storage format {self.value!r} is not registered in this process; import "
                "the converter that declares it"
            ) from None

    def __repr__(self) -> str:
        return f"StorageFormat({self.value!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.with_info_after_validator_function(
            _validate, core_schema.str_schema(), serialization=core_schema.to_string_ser_schema()
        )


def _validate(value: str, info: ValidationInfo) -> StorageFormat:
    if info.context and info.context.get(STORED_ROW):
        return StorageFormat._stored(value)
    return StorageFormat(value)


def register_storage_format(name: str, suffix: str | None = None) -> StorageFormat:
    """Declare the storage format ``name``, whose assets end in ``suffix``
    (``.<name>`` unless given), and return it.

    Registering a format again with the same suffix changes nothing. A name
    already registered with another suffix, or a suffix another format has,
    raises `ValueError`: one suffix always means one format.
    """
    suffix = f".{name}" if suffix is None else suffix
    if not _NAME.match(name):
        raise InvalidValueError(
            f"storage format name {name!r} is not allowed: use 1-32 lowercase letters, "
            "digits, '_' or '-'"
        )
    if not _SUFFIX.match(suffix):
        raise InvalidValueError(
            f"suffix {suffix!r} of storage format {name!r} is not allowed: use '.' and then "
            "1-32 lowercase letters, digits, '.', '_' or '-'"
        )
    with _lock:
        known = _suffixes.get(name)
        if known is not None and known != suffix:
            raise InvalidValueError(
                f"storage format {name!r} is registered with suffix {known!r}, not {suffix!r}"
            )
        owner = next((n for n, s in _suffixes.items() if s == suffix and n != name), None)
        if owner is not None:
            raise InvalidValueError(
                f"suffix {suffix!r} already belongs to storage format {owner!r}; "
                f"give {name!r} a suffix of its own"
            )
        _suffixes[name] = suffix
    return StorageFormat(name)


def storage_formats() -> Mapping[str, str]:
    """The registered formats: ``{name: suffix}``, a snapshot."""
    with _lock:
        return MappingProxyType(dict(_suffixes))


StorageFormat.ZARR = register_storage_format("zarr")
StorageFormat.LANCE = register_storage_format("lance")
StorageFormat.MP4 = register_storage_format("mp4")
StorageFormat.PARQUET = register_storage_format("parquet")
