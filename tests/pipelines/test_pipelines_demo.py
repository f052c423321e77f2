"""The main job (make demo) with the real definitions on an embedded instance."""

from pathlib import Path

import dagster as dg
import pytest

from ursa_lib import LocalProfile
from ursa_lib.catalog import Catalog, Modality, Recording
from ursa_pipelines.demo import main


def test_demo_runs_the_whole_path_and_records_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--root", str(tmp_path), "--sessions", "3", "--segments", "1"])
    out = capsys.readouterr().out
    words = " ".join(
        out.replace("│", " ").split()
    )  # the summary table may wrap    assert "landing_sensor: 3 new session(s)" in out
    assert "match the rig's sha256" in words
    assert "3 processed recording(s)" in words
    assert f"DAGSTER_HOME={tmp_path / 'dagster'}" in out
    # The UI command runs the webserver alone: no daemon, so no sensor ingests again.
    [command] = [line for line in out.splitlines() if "dagster-webserver" in line]
    assert "dagster dev" not in command
    assert command.strip().startswith(f"cd {tmp_path / 'dagster'} &&")
    catalog = Catalog.open(LocalProfile(root=tmp_path))
    assert catalog.count(Recording) == 3
    assert catalog.count(Modality, {"ingestion_status": "processed"}) == 12
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        runs = instance.get_runs()
        assert sorted(r.job_name for r in runs) == [
            *["download"] * 2,
            *["ingest"] * 3,
            *["process"] * 3,
        ]
        assert all(r.is_success for r in runs)
        assert len(instance.get_dynamic_partitions("recordings")) == 3
    # A second demo finds nothing new in the landing directory: the cursor held.
    main(["--root", str(tmp_path), "--sessions", "3", "--segments", "1"])
    assert "landing_sensor: 0 new session(s)" in capsys.readouterr().out
