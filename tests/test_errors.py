"""Every obstore exception maps to an Ursa class; the tree holds its promises."""

from __future__ import annotations

import inspect

import obstore.exceptions as obx
import pytest

import ursa_lib
from ursa_lib import (
    AccessDeniedError,
    ConfigError,
    InvalidKeyError,
    ObjectChangedError,
    ObjectExistsError,
    ObjectNotFoundError,
    ObjectStoreError,
    ObjectStoreTransientError,
    UrsaError,
    WriteRefusedError,
)
from ursa_lib.store import OBSTORE_ERROR_MAP
from ursa_lib.store._error_map import TransientFailure, map_error

OBSTORE_CLASSES = [
    cls
    for _, cls in inspect.getmembers(obx, inspect.isclass)
    if issubclass(cls, BaseException) and cls.__module__.startswith("obstore")
]


def test_the_enumeration_found_obstores_exceptions() -> None:
    assert len(OBSTORE_CLASSES) >= 12
    assert obx.BaseError in OBSTORE_CLASSES


@pytest.mark.parametrize("cls", OBSTORE_CLASSES, ids=lambda c: c.__name__)
def test_every_obstore_exception_is_mapped(cls: type[BaseException]) -> None:
    assert cls in OBSTORE_ERROR_MAP, f"obstore.exceptions.{cls.__name__} has no Ursa mapping"
    mapped = map_error(cls("boom"), uri="s3://b/k", action="reading")
    assert isinstance(mapped, UrsaError | TransientFailure)
    assert "s3://b/k" in str(mapped)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (obx.NotFoundError("x"), ObjectNotFoundError),
        (FileNotFoundError("x"), ObjectNotFoundError),
        (obx.AlreadyExistsError("x"), ObjectExistsError),
        (obx.PreconditionError("x"), ObjectChangedError),
        (obx.PermissionDeniedError("x"), AccessDeniedError),
        (obx.UnauthenticatedError("x"), AccessDeniedError),
        (obx.InvalidPathError("x"), InvalidKeyError),
        (obx.UnknownConfigurationKeyError("x"), ConfigError),
        (obx.JoinError("x"), TransientFailure),
        (
            obx.GenericError("Server returned non-2xx status code: 503 Service Unavailable"),
            TransientFailure,
        ),
        (obx.GenericError("Server returned non-2xx status code: 500 Internal"), TransientFailure),
        (obx.GenericError("inner: Status { status: 429, body: None }"), TransientFailure),
        (obx.GenericError("error sending request for url (http://x/)"), TransientFailure),
        (obx.GenericError("operation timed out"), TransientFailure),
        (obx.GenericError("Server returned non-2xx status code: 403 Forbidden"), AccessDeniedError),
        (
            obx.GenericError("Server returned non-2xx status code: 400 Bad Request"),
            ObjectStoreError,
        ),
        (ConnectionResetError("reset"), TransientFailure),
        (FileNotFoundError("DELETE ?uploadId=x 404 <Code>NoSuchUpload</Code>"), TransientFailure),
        (TimeoutError("slow"), TransientFailure),
    ],
)
def test_classification(exc: BaseException, expected: type) -> None:
    mapped = map_error(exc, uri="s3://b/k", action="reading")
    assert type(mapped) is expected


def test_throttling_waits_at_least_a_second() -> None:
    mapped = map_error(obx.GenericError("status: 429"), uri="s3://b/k", action="reading")
    assert isinstance(mapped, TransientFailure)
    assert mapped.retry_after is not None
    assert mapped.retry_after >= 1.0


def test_foreign_key_in_a_listing_is_named() -> None:
    exc = obx.InvalidPathError('Encountered object with invalid path: Error parsing Path "p/./i"')
    mapped = map_error(exc, uri="s3://b/p/", action="listing")
    assert isinstance(mapped, InvalidKeyError)
    assert "'p/./i'" in str(mapped)
    assert "rename or delete" in str(mapped)


def test_unknown_exceptions_are_not_swallowed() -> None:
    with pytest.raises(TypeError, match="no mapping"):
        map_error(KeyError("x"), uri="s3://b/k", action="reading")


def test_builtin_mixins_keep_generic_callers_working() -> None:
    assert issubclass(ObjectNotFoundError, FileNotFoundError)
    assert issubclass(ObjectExistsError, FileExistsError)
    assert issubclass(WriteRefusedError, PermissionError)
    assert issubclass(AccessDeniedError, PermissionError)
    assert issubclass(ObjectStoreTransientError, ObjectStoreError)
    assert issubclass(ConfigError, ValueError)


def test_tree_in_docstring_lists_every_public_error() -> None:
    doc = ursa_lib._errors.__doc__ or ""
    for name in ursa_lib._errors.__all__:
        assert name in doc, f"{name} is missing from the drawn error tree"
        assert issubclass(getattr(ursa_lib, name), UrsaError)
