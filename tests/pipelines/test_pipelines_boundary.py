"""The code location's one error boundary: what it maps, what it lets through,
and that no other module of ``ursa_pipelines`` classifies errors."""

import ast
import builtins
from pathlib import Path

import dagster as dg
import pytest

import ursa_lib._errors
from ursa_lib import (
    ConfigError,
    ManifestError,
    ObjectNotFoundError,
    ObjectStoreTransientError,
    SourceChangedError,
)
from ursa_pipelines._boundary import ursa_errors

PIPELINES = Path(__file__).resolve().parents[2] / "ursa_pipelines"
BOUNDARY = PIPELINES / "_boundary.py"


def test_transient_errors_pass_through_for_the_retry_policy() -> None:
    error = ObjectStoreTransientError("503 from s3://raw/x", retry_after=2.0)
    with pytest.raises(ObjectStoreTransientError) as caught, ursa_errors():
        raise error
    assert caught.value is error


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("unknown profile 'ghost'"),
        ManifestError("s3://raw/recordings/r/manifest.json is not valid JSON"),
        SourceChangedError("eeg_0/seg_00000.bin changed while uploading"),
        ObjectNotFoundError("no object at s3://raw/x"),
    ],
)
def test_ursa_errors_fail_for_good_with_the_library_message(error: Exception) -> None:
    with pytest.raises(dg.Failure) as caught, ursa_errors():
        raise error
    assert caught.value.allow_retries is False
    assert caught.value.description == f"{type(error).__name__}: {error}"
    assert caught.value.__cause__ is error


@pytest.mark.parametrize("error", [ValueError("a bug"), OSError("disk"), KeyError("k")])
def test_anything_else_propagates_as_the_bug_it_is(error: Exception) -> None:
    with pytest.raises(type(error)) as caught, ursa_errors():
        raise error
    assert caught.value is error


def test_dagster_control_flow_passes_through() -> None:
    with pytest.raises(dg.RetryRequested), ursa_errors():
        raise dg.RetryRequested(max_retries=1, seconds_to_wait=1)


# Names that classify errors when caught: every Ursa error, and the builtins an
# Ursa error mixes in (or that a catch-all would use).
CLASSIFYING = (
    set(ursa_lib._errors.__all__)
    | {"BaseException"}
    | {
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and any(issubclass(getattr(ursa_lib._errors, e), value) for e in ursa_lib._errors.__all__)
    }
)


def _classifying_handlers(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.ExceptHandler):
            continue
        kind = node.type
        names = (
            [n.id if isinstance(n, ast.Name) else ast.unparse(n) for n in ast.walk(kind)]
            if kind
            else []
        )
        if kind is None or isinstance(kind, ast.Tuple) or CLASSIFYING & set(names):
            found.append(f"{path.relative_to(PIPELINES.parent)}:{node.lineno}")
    return found


def test_only_the_boundary_classifies_errors() -> None:
    assert {"UrsaError", "Exception", "ValueError", "OSError"} <= CLASSIFYING
    assert _classifying_handlers(BOUNDARY), "the boundary itself should be seen by this check"
    offenders = [
        where
        for path in sorted(PIPELINES.rglob("*.py"))
        # The run launcher probes worker processes and handles the OS errors of
        # its own probes; it never sees a library outcome.
        if path not in (BOUNDARY, PIPELINES / "launcher.py")
        for where in _classifying_handlers(path)
    ]
    assert offenders == [], "classify errors in ursa_pipelines/_boundary.py only"
