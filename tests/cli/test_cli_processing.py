"""``ursa process``, ``show``, ``plot`` and ``download --from/--to`` on the local profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ursa_lib import DataInterface, LocalProfile
from ursa_lib.cli import app
from ursa_lib.cli._lifecycle import _process_commands
from ursa_lib.lifecycle import Finding
from ursa_lib.testing import RecordingSpec, write_recording, write_session

T0 = 1_795_000_000_000_000_000


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_recording(tmp_path / "rig", RecordingSpec(rec_id="rec_c", start_time_ns=T0))
    DataInterface(LocalProfile(root=tmp_path / "ursa")).enable_writes().ingest(
        tmp_path / "rig" / "rec_c"
    )
    return tmp_path / "ursa"


def ursa(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_process_show_plot_and_a_window_download(root: Path, tmp_path: Path) -> None:
    code, out = ursa("process", "rec_c", "--root", str(root), "--json")
    assert code == 0, out
    outcomes = {o["modality"]: o["outcome"] for o in json.loads(out)}
    assert outcomes == dict.fromkeys(("audio", "camera", "eeg", "events"), "processed")
    code, out = ursa("process", "rec_c", "--root", str(root), "--json")
    assert {o["outcome"] for o in json.loads(out)} == {"unchanged"}
    code, out = ursa("show", "rec_c", "--root", str(root), "--json")
    assert code == 0, out
    shown = {m["modality"]: m for m in json.loads(out)["modalities"]}
    assert shown["eeg"]["sampling_rate"] == 256.0
    assert shown["eeg"]["channels"][:2] == ["EEG01", "EEG02"]
    assert shown["camera"]["domain"] == [[0.0, 30.0]]
    assert shown["events"]["domain"] == [[0.0, 30.0]]  # what a read covers: all of it
    png = tmp_path / "w.png"
    code, out = ursa(
        "plot", "rec_c", "--from", "5", "--to", "15", "-o", str(png), "--root", str(root)
    )
    assert code == 0, out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out = ursa(
        "download", str(tmp_path / "d"), "--from", "5", "--to", "15", "--root", str(root)
    )
    assert code == 0, out
    assert len(list((tmp_path / "d").glob("*/eeg/eeg.zarr"))) == 1
    code, out = ursa(
        "plot", "rec_c", "--from", "15", "--to", "5", "-o", str(png), "--root", str(root)
    )
    assert code == 2
    assert "Traceback" not in out
    code, out = ursa("show", "rec_nope", "--root", str(root))
    assert code == 3  # nothing matched
    assert "no recording matches 'rec_nope'" in out
    assert len(out.strip().splitlines()) == 1


def test_the_process_line_scrub_prints_names_the_damaged_modalities() -> None:
    assets = "file:///lab/processed/ursa/assets/"  # "processed" in the bucket's own path
    h = "ab" * 32

    def finding(kind: str, key: str, rec: str | None = h) -> Finding:
        return Finding(kind=kind, uri=assets + key, detail="", recording_hash=rec)  # type: ignore[arg-type]

    damaged = [
        finding("bit_rot", f"processed/{h}/eeg/ursa.timeseries.edf-2/eeg.zarr/data/c/0/0"),
        finding("missing_object", f"processed/{h}/camera/ursa.video.pyav-1/camera.mp4"),
        finding("unreadable_asset", f"processed/{h}/audio/ursa.audio.soundfile-2/audio.zarr"),
        # Raw objects are no processed asset's, whatever their folders are called.
        finding("missing_object", "file:///lab/raw/recordings/rec/processed/notes.txt"),
        finding("wrong_size", f"processed/{h}/eeg/ursa.timeseries.edf-2/x", rec=None),
    ]
    assert _process_commands(damaged, assets) == [
        f"ursa process {h[:12]} --again -m audio -m camera -m eeg"
    ]
    assert _process_commands(damaged[1:2], assets) == [f"ursa process {h[:12]}"]


def test_a_modality_the_recording_lacks_is_refused(root: Path) -> None:
    code, out = ursa("process", "rec_c", "-m", "eeg", "-m", "eeeg", "--root", str(root))
    assert code == 1
    assert "no modality 'eeeg' in 'rec_c': its modalities are audio, camera, eeg, events" in out
    assert len(out.strip().splitlines()) == 1


def test_show_names_why_a_recording_has_no_modality(root: Path, tmp_path: Path) -> None:
    flat = write_session(tmp_path / "rig", "rec_flat", {"": [4]})
    DataInterface(LocalProfile(root=root)).enable_writes().ingest(flat)
    code, out = ursa("show", "rec_flat", "--root", str(root))
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("no modality: its files lie in no stream")
    code, out = ursa("process", "rec_flat", "--root", str(root))
    assert code == 0, out
    assert "nothing to process: 'rec_flat' has no modality: its files lie in no stream" in out
    png = tmp_path / "flat.png"
    code, out = ursa("plot", "rec_flat", "--from", "0", "--to", "1", "-o", str(png), "--root",
                     str(root))  # fmt: skip
    assert code == 1
    assert "has no modality to draw" in out
    assert len(out.strip().splitlines()) == 1
    assert not png.exists()


def test_process_takes_the_hash_prefix_that_query_shows(root: Path) -> None:
    (found,) = DataInterface(LocalProfile(root=root)).query(status="all")
    code, out = ursa("process", found.recording_hash[:12], "--root", str(root), "--json")
    assert code == 0, out
    assert {o["recording_hash"] for o in json.loads(out)} == {found.recording_hash}
    code, out = ursa("process", "0123456789ab", "--root", str(root))
    assert code == 3  # nothing matched, in one line
    assert "no recording matches '0123456789ab'" in out
    assert len(out.strip().splitlines()) == 1


def test_scrub_names_the_process_command_that_remakes_a_damaged_asset(root: Path) -> None:
    assert ursa("process", "rec_c", "--root", str(root))[0] == 0
    ui = DataInterface(LocalProfile(root=root))
    (found,) = ui.query()
    short = found.recording_hash[:12]
    assets = LocalProfile(root=root).root / "assets"
    chunk = next(p for p in sorted(assets.rglob("eeg.zarr/data/c/*/*")) if p.is_file())
    chunk.unlink()
    code, out = ursa("scrub", "--root", str(root))
    assert code == 1
    assert out.strip().splitlines()[-1] == (
        f"next: ursa process {short} (makes a damaged processed asset again)"
    )
    code, out = ursa("process", short, "--root", str(root), "--json")
    assert code == 0, out
    eeg = next(o for o in json.loads(out) if o["modality"] == "eeg")
    assert eeg["outcome"] == "processed"
    assert "is gone" in eeg["reason"]
    code, out = ursa("scrub", "--root", str(root))
    assert code == 0, out
    assert "next:" not in out
    # An asset that does not open for another reason takes --again.
    metadata = next(p for p in sorted(assets.rglob("eeg.zarr/data/zarr.json")))
    metadata.write_bytes(b"X" + metadata.read_bytes()[1:])
    code, out = ursa("scrub", "--root", str(root))
    assert code == 1
    assert out.strip().splitlines()[-1] == (
        f"next: ursa process {short} --again -m eeg (makes a damaged processed asset again)"
    )
    code, out = ursa("process", short, "--again", "-m", "eeg", "--root", str(root), "--json")
    assert code == 0, out
    assert [(o["outcome"], o["reason"]) for o in json.loads(out)] == [("processed", "made again")]
    assert ursa("scrub", "--root", str(root))[0] == 0
    # A chunk rotted at its size opens: only a sample that re-hashes it tells, and
    # --again makes it again.
    chunk = next(p for p in sorted(assets.rglob("eeg.zarr/data/c/*/*")) if p.is_file())
    rotten = chunk.read_bytes()
    chunk.write_bytes(rotten[:-1] + bytes([rotten[-1] ^ 0xFF]))
    assert ursa("scrub", "--root", str(root))[0] == 0
    code, out = ursa("scrub", "--sample", "1", "--root", str(root))
    assert code == 1
    assert "bit_rot" in out
    assert out.strip().splitlines()[-1] == (
        f"next: ursa process {short} --again -m eeg (makes a damaged processed asset again)"
    )
    assert ursa("process", short, "--again", "-m", "eeg", "--root", str(root))[0] == 0
    assert ursa("scrub", "--sample", "1", "--root", str(root))[0] == 0


def test_query_takes_iso_8601_times(root: Path) -> None:
    start = "2026-11-18T11:06:50Z"  # T0 + 10 s: inside the 30 s session
    assert ursa("process", "rec_c", "--root", str(root))[0] == 0  # time filters need it
    code, out = ursa(
        "query",
        "--since",
        start,
        "--until",
        "2026-11-18T11:07:00",
        "--root",
        str(root),
        "--json",
    )
    assert code == 0, out
    assert {json.loads(line)["rec_id"] for line in out.splitlines()} == {"rec_c"}
    code, out = ursa(
        "query",
        "--since",
        "2026-11-18T12:00:00Z",
        "--until",
        "2026-11-18T13:00:00Z",
        "--root",
        str(root),
    )
    assert code == 3
    # One end alone leaves the other open: since (or until) a time.
    for flag, when, found in (
        ("--since", "2026-11-18T11:06:50Z", 1),
        ("--since", "2026-11-18T12:00:00Z", 0),
        ("--until", "2026-11-18T11:06:50Z", 1),
        ("--until", "2026-11-18T11:00:00Z", 0),
    ):
        code, out = ursa("query", flag, when, "--root", str(root), "--json")
        assert (code, len(out.splitlines())) == ((0, 4) if found else (3, 1)), (flag, when, out)
    code, out = ursa("query", "--since", "soon", "--root", str(root))
    assert code == 2
    assert "ISO-8601" in out


def test_a_window_download_reports_what_it_kept_and_plans_nothing(
    root: Path, tmp_path: Path
) -> None:
    assert ursa("process", "rec_c", "--root", str(root))[0] == 0
    dest = str(tmp_path / "d")

    def window(t0: str, t1: str, *more: str) -> tuple[int, str]:
        code, out = ursa("download", dest, "--from", t0, "--to", t1, "--root", str(root), *more)
        return code, out.strip().splitlines()[-1]  # the summary, after the progress line

    code, out = window("10", "15", "--json")
    assert code == 0, out
    first = json.loads(out)
    assert first["written"] == first["clips"] == 5  # eeg, audio, events, the video and its index
    on_disk = [p for p in (tmp_path / "d").rglob("*") if p.is_file() and ".ursa" not in p.parts]
    assert first["files"] == len(on_disk) > first["clips"]  # a clipped Zarr is many files
    # A clip of another window is replaced, and counted written.
    code, out = window("20", "25", "--existing", "skip", "--json")
    assert code == 0, out
    assert json.loads(out)["written"] == first["clips"]
    (eeg,) = (tmp_path / "d").glob("*/eeg/eeg.zarr")
    attrs = json.loads((eeg / "zarr.json").read_text())["attributes"]
    assert attrs["intervals"][0]["start_s"] == 20.0
    code, out = window("20", "25", "--existing", "skip", "--json")
    assert code == 0, out
    assert json.loads(out)["skipped"] == first["clips"]
    assert json.loads(out)["written"] == 0

    # A dry run of a window is refused in one line; it never plans the whole assets.
    code, out = ursa(
        "download", str(tmp_path / "dry"), "--from", "10", "--to", "15", "--dry-run",
        "--root", str(root),
    )  # fmt: skip
    assert code == 2  # a usage error, named as typed
    assert "cannot be planned ahead" in out
    assert "drop --dry-run, or --from/--to" in out
    assert "eeg.zarr" not in out
    assert len(out.strip().splitlines()) == 1
    assert not (tmp_path / "dry").exists()

    code, out = window("10", "10")
    assert code == 1
    assert "zero-length window (10 to 10 s): --from/--to must end after it starts" in out
    assert len(out.strip().splitlines()) == 1
