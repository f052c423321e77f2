"""The production instance config (deploy/dagster.yaml) on a real PostgreSQL server."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config

from ursa_lib.testing import MotoS3, Postgres, write_session
from ursa_pipelines.definitions import defs
from ursa_pipelines.resources import UrsaResource

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    server = Postgres().start()
    yield server
    server.stop()


def test_production_config_runs_a_real_job_on_postgres(
    postgres: Postgres, moto_s3: MotoS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_DB": postgres.db,
        "DAGSTER_PG_USER": postgres.user,
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        "URSA_DAGSTER_LOG_BUCKET": "ursa-assets",
        "URSA_DAGSTER_LOG_ENDPOINT": moto_s3.rw.url,
        "AWS_ACCESS_KEY_ID": moto_s3.rw.access_key_id,
        "AWS_SECRET_ACCESS_KEY": moto_s3.rw.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())
    # The whole file is a valid instance config, ECS launcher included.
    dagster_instance_config(str(ROOT / "deploy"), "dagster.yaml")
    # Run here with the file's storage, compute logs and queue, but launching runs
    # in this process: the test machine has no ECS cluster.
    del config["run_launcher"]
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))

    landing = tmp_path / "landing"
    write_session(landing, "rec_pg", {"eeg_0": [3000, 2000], "events_0": [100]})
    site = UrsaResource(local_root=str(tmp_path / "ursa"), landing_dirs=[str(landing)])
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.compute_log_manager).__name__ == "S3ComputeLogManager"
        instance.add_dynamic_partitions("recordings", ["rec_pg"])
        result = defs.resolve_job_def("ingest").execute_in_process(
            instance=instance, partition_key="rec_pg", resources={"ursa": site}
        )
        assert result.success
        stored = instance.get_run_by_id(result.run_id)
        assert stored is not None
        assert stored.is_success
        mat = instance.get_latest_materialization_event(dg.AssetKey("catalog_registration"))
        assert mat is not None
        assert mat.dagster_event is not None
        assert mat.dagster_event.partition == "rec_pg"
    import psycopg2

    with (
        psycopg2.connect(
            host="127.0.0.1", port=postgres.port, user=postgres.user, dbname=postgres.db
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT count(*) FROM runs WHERE run_id = %s", (result.run_id,))
        assert cur.fetchone() == (1,)
