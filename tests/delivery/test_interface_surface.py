"""The notebook surface of DataInterface: catalog verbs are real, typed methods."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from ursa_lib import DataInterface, LocalProfile, WritesNotEnabledError
from ursa_lib.catalog import Catalog
from ursa_lib.testing import participant


def test_catalog_verbs_are_listed_typed_and_guarded(tmp_path: Path) -> None:
    data = DataInterface(path=tmp_path)
    verbs = [n for n in dir(Catalog) if n.startswith(("get_", "list_", "register_"))]
    assert len(verbs) >= 20
    assert set(verbs) <= set(dir(data))  # tab completion sees them
    for name in verbs:
        assert hasattr(data, name)  # answers, never raises
        ours = inspect.signature(getattr(DataInterface, name))
        theirs = inspect.signature(getattr(Catalog, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        assert ours.return_annotation == theirs.return_annotation, name
    assert hasattr(data, "register_event")
    with pytest.raises(WritesNotEnabledError, match="register_participant"):
        data.register_participant(participant("p001"))
    data.enable_writes().register_participant(participant("p001"))
    assert data.get_participant("p001") is not None
    assert [p.participant_id for p in data.list_participants()] == ["p001"]
    assert not hasattr(data, "get_nothing")


def test_path_names_the_local_root(tmp_path: Path) -> None:
    assert DataInterface(path=tmp_path).profile == LocalProfile(root=tmp_path)
    assert DataInterface("local", path=tmp_path).profile.root == tmp_path
    with pytest.raises(ValueError, match="path or local_root"):
        DataInterface(path=tmp_path, local_root=tmp_path)
