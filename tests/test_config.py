"""Profiles from the default, a config file and the environment; secrets stay secret."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from ursa_lib import (
    AccessDeniedError,
    ConfigError,
    InvalidUriError,
    LocalProfile,
    S3Credentials,
    S3Profile,
    load_profile,
    open_store,
    parse_storage_uri,
)
from ursa_lib.testing import RcloneS3


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("URSA_PROFILE", "URSA_CONFIG", "URSA_LOCAL_ROOT"):
        monkeypatch.delenv(var, raising=False)
    import os

    for var in list(os.environ):
        if var.startswith("URSA_PROFILES__"):
            monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


CONFIG = """
[profiles.lab]
endpoint = "https://account.r2.example.com"
raw_bucket = "lab-raw"
assets_bucket = "lab-assets"

[profiles.lab.credentials.raw_ro]
access_key_id_env = "LAB_RO_ID"
secret_access_key_env = "LAB_RO_SECRET"
"""


def test_local_is_the_default(tmp_path: Path) -> None:
    profile = load_profile()
    assert isinstance(profile, LocalProfile)
    assert profile.root == tmp_path / ".ursa"
    assert profile.bucket_uri("raw") == (tmp_path / ".ursa" / "raw").as_uri() + "/"


def test_local_root_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("URSA_LOCAL_ROOT", str(tmp_path / "elsewhere"))
    profile = load_profile()
    assert isinstance(profile, LocalProfile)
    assert profile.root == tmp_path / "elsewhere"


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("URSA_PROFILE", "")
    monkeypatch.setenv("URSA_LOCAL_ROOT", "")
    profile = load_profile()
    assert isinstance(profile, LocalProfile)
    assert profile.root == tmp_path / ".ursa"


def test_an_endpoint_with_a_password_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("URSA_PROFILES__LAB__RAW_BUCKET", "lab-raw")
    monkeypatch.setenv("URSA_PROFILES__LAB__ASSETS_BUCKET", "lab-assets")
    monkeypatch.setenv("URSA_PROFILES__LAB__ENDPOINT", "http://admin:hunter2pw@127.0.0.1:9000")
    with pytest.raises(ConfigError, match="must not carry a user name or password") as info:
        load_profile("lab")
    assert "hunter2pw" not in str(info.value)
    assert "admin" not in str(info.value)


def test_s3_profile_from_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "ursa.toml").write_text(CONFIG)
    profile = load_profile("lab")
    assert isinstance(profile, S3Profile)
    assert profile.raw_bucket == "lab-raw"
    assert profile.region == "auto"
    assert profile.resolved_catalog_uri == "s3://lab-assets/catalog"
    assert profile.credentials["raw_ro"].access_key_id_env == "LAB_RO_ID"


def test_environment_overrides_and_adds_profiles(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "ursa.toml").write_text(CONFIG)
    monkeypatch.setenv("URSA_PROFILES__LAB__RAW_BUCKET", "other-raw")
    monkeypatch.setenv("URSA_PROFILES__ENVONLY__RAW_BUCKET", "env-raw")
    monkeypatch.setenv("URSA_PROFILES__ENVONLY__ASSETS_BUCKET", "env-assets")
    monkeypatch.setenv("URSA_PROFILE", "envonly")
    lab = load_profile("lab")
    assert isinstance(lab, S3Profile)
    assert lab.raw_bucket == "other-raw"
    assert lab.assets_bucket == "lab-assets"
    env_only = load_profile()
    assert isinstance(env_only, S3Profile)
    assert (env_only.name, env_only.raw_bucket) == ("envonly", "env-raw")


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "ursa.toml").write_text(CONFIG)
    with pytest.raises(ConfigError, match=r"unknown profile 'nope' \(known: lab, local"):
        load_profile("nope")


def test_missing_setting_is_named_with_its_variable(tmp_path: Path) -> None:
    (tmp_path / "ursa.toml").write_text('[profiles.half]\nraw_bucket = "half-raw"\n')
    with pytest.raises(ConfigError) as info:
        load_profile("half")
    assert "missing setting profiles.half.assets_bucket" in str(info.value)
    assert "URSA_PROFILES__HALF__ASSETS_BUCKET" in str(info.value)


def test_invalid_setting_says_the_rule(tmp_path: Path) -> None:
    (tmp_path / "ursa.toml").write_text(
        '[profiles.bad]\nraw_bucket = "Bad_Bucket"\nassets_bucket = "ok-assets"\n'
    )
    with pytest.raises(ConfigError, match=r"profiles\.bad\.raw_bucket: .*valid S3 bucket name"):
        load_profile("bad")


def test_broken_toml_and_missing_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("URSA_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(ConfigError, match=r"absent\.toml, which does not exist"):
        load_profile()
    (tmp_path / "broken.toml").write_text("[profiles.x\n")
    monkeypatch.setenv("URSA_CONFIG", str(tmp_path / "broken.toml"))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_profile()


def test_missing_credential_variable_is_named_not_read(tmp_path: Path) -> None:
    (tmp_path / "ursa.toml").write_text(CONFIG)
    profile = load_profile("lab")
    with pytest.raises(ConfigError, match=r"LAB_RO_ID \(access_key_id\) is not set"):
        open_store(profile, "raw_ro")
    with pytest.raises(ConfigError, match="URSA_LAB_RAW_RW_ACCESS_KEY_ID"):
        open_store(profile, "raw_rw")


def test_secrets_never_in_repr_or_str() -> None:
    creds = S3Credentials(
        access_key_id=SecretStr("AKIASECRETID0001"),
        secret_access_key=SecretStr("very-secret-value-123"),
    )
    for text in (repr(creds), str(creds), repr(creds.model_dump()), creds.model_dump_json()):
        assert "very-secret-value-123" not in text
        assert "AKIASECRETID0001" not in text


def test_secrets_never_in_errors_or_logs(
    rclone_s3: RcloneS3,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "wrong-secret-never-shown-42"
    monkeypatch.setenv("URSA_T_RAW_RO_ACCESS_KEY_ID", rclone_s3.rw.access_key_id)
    monkeypatch.setenv("URSA_T_RAW_RO_SECRET_ACCESS_KEY", secret)
    profile = S3Profile(
        name="t",
        endpoint=rclone_s3.rw.url,
        region="us-east-1",
        raw_bucket="ursa-raw",
        assets_bucket="ursa-assets",
    )
    store = open_store(profile, "raw_ro")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AccessDeniedError) as info:
        store.get("any/key")
    text = f"{info.value!s} {info.value!r} {caplog.text} {store!r} {profile!r}"
    assert secret not in text
    assert rclone_s3.rw.access_key_id not in str(info.value)
    # The raw obstore error (which may quote request details) is not chained.
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_storage_uris_resolve_to_role_and_key(tmp_path: Path) -> None:
    s3 = S3Profile(name="lab", raw_bucket="lab-raw", assets_bucket="lab-assets")
    loc = parse_storage_uri("s3://lab-raw/recordings/r1/eeg_0/", s3)
    assert (loc.bucket, loc.key, loc.role(), loc.role(write=True)) == (
        "raw",
        "recordings/r1/eeg_0/",
        "raw_ro",
        "raw_rw",
    )
    local = LocalProfile(root=tmp_path / "u")
    uri = (tmp_path / "u" / "assets" / "processed" / "x.zarr").as_uri()
    loc = parse_storage_uri(uri, local)
    assert (loc.bucket, loc.key, loc.role()) == ("assets", "processed/x.zarr", "assets_ro")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://lab-raw/x", "unsupported scheme"),
        ("lab-raw/x", "unsupported scheme"),
        ("s3://other-bucket/x", "neither the raw bucket"),
        ("s3://lab-raw/a/../b", "invalid key"),
        ("s3://lab-raw//abs", "invalid key"),
        ("s3://lab-raw/a\\b", "invalid key"),
        ("file:///etc/passwd", "is a file:// URI but profile 'lab' is S3"),
        ("s3://lab-raw/x?versionId=1", "must not carry"),
    ],
)
def test_bad_storage_uris_are_refused(uri: str, message: str) -> None:
    s3 = S3Profile(name="lab", raw_bucket="lab-raw", assets_bucket="lab-assets")
    with pytest.raises(InvalidUriError, match=message):
        parse_storage_uri(uri, s3)


def test_file_uri_outside_the_local_buckets_is_refused(tmp_path: Path) -> None:
    local = LocalProfile(root=tmp_path / "u")
    with pytest.raises(InvalidUriError, match="outside the bucket folders"):
        parse_storage_uri((tmp_path / "elsewhere" / "x").as_uri(), local)
