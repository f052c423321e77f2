"""The bucket layout encodes and parses every key Ursa writes, and refuses others."""

from __future__ import annotations

import pytest

from ursa_lib import InvalidKeyError
from ursa_lib._layout import MANIFEST_NAME, AssetKey, SessionPrefix

H = "ab" * 32


def test_session_prefix_round_trips() -> None:
    primary, alternate = SessionPrefix.candidates("rec_1", H)
    assert primary.key == "recordings/rec_1"
    assert alternate.key == f"recordings/rec_1~{H[:12]}"
    for session in (primary, alternate):
        assert SessionPrefix.parse(session.key) == session
        assert SessionPrefix.parse(session.key + "/") == session
        assert SessionPrefix.parse(session.manifest_key) == session
        assert session.manifest_key == f"{session.key}/{MANIFEST_NAME}"
        key = session.file_key("eeg_0/seg_0.edf")
        assert SessionPrefix.parse(key) == session
        assert session.rel_path(key) == "eeg_0/seg_0.edf"
    assert primary.owns(H)
    assert alternate.owns(H)
    assert not alternate.owns("cd" * 32)


@pytest.mark.parametrize(
    "key", ["rec_1/manifest.json", "recordings/", "recordings//x", "recordings/r~xyz/manifest.json"]
)
def test_session_prefix_refuses_other_keys(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        SessionPrefix.parse(key)


def test_rel_path_refuses_keys_of_another_session() -> None:
    with pytest.raises(InvalidKeyError):
        SessionPrefix("rec_1").rel_path("recordings/rec_10/eeg_0/x")


def test_asset_key_round_trips_with_and_without_version() -> None:
    plain = AssetKey(H, "eeg", "eeg.zarr")
    assert plain.key == f"processed/{H}/eeg/eeg.zarr"
    versioned = AssetKey(H, "camera", "camera.mp4", version="mp4-remux-2")
    assert versioned.key == f"processed/{H}/camera/mp4-remux-2/camera.mp4"
    assert versioned.frame_index_key == versioned.key + ".lance"
    assert versioned.parent == f"processed/{H}/camera/mp4-remux-2/"
    for asset in (plain, versioned):
        assert AssetKey.parse(asset.key) == asset
        assert AssetKey.parse(asset.key + "/") == asset
        assert asset.key.startswith(AssetKey.tier(H, asset.modality))


@pytest.mark.parametrize(
    "key",
    [
        f"recordings/{H}/eeg/eeg.zarr",
        f"processed/{H}/eeg",
        f"processed/{H}/eeg/a/b/eeg.zarr",
        "processed/nothex/eeg/eeg.zarr",
        f"processed/{H}//eeg.zarr",
    ],
)
def test_asset_key_refuses_other_keys(key: str) -> None:
    with pytest.raises(InvalidKeyError):
        AssetKey.parse(key)
