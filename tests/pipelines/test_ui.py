"""The Dagster UI for real: dagster-webserver on a loopback port, driven by
headless Chromium, over the history the main job leaves behind."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ursa_lib.testing import free_port, stop_process, wait_for_port
from ursa_pipelines.demo import main as demo

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Debian's chromium and chromium-driver (make test installs them)",
)


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ui")
    demo(["--root", str(root), "--sessions", "2", "--segments", "1"])
    home = root / "dagster"
    # Runs launched from the UI start at once here; with dagster.yaml's queued
    # coordinator they would wait for the daemon, which this test does not run.
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    config["run_coordinator"] = {
        "module": "dagster.core.run_coordinator",
        "class": "DefaultRunCoordinator",
    }
    config.get("concurrency", {}).pop("runs", None)  # queue limits need the queue
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "URSA_LOCAL_ROOT": str(root),
        "URSA_LANDING_DIRS": str(root / "landing"),
    }
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port)),
            *("-w", str(ROOT / "workspace.yaml")),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, timeout=120)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the code location loads after the port opens
            if "ursa_pipelines" in json.dumps(graphql(url, LOCATIONS)):
                break
            time.sleep(0.5)
        yield url
    finally:
        stop_process(proc)


LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus } } } }"


def graphql(url: str, query: str, variables: dict[str, object] | None = None) -> dict[str, object]:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{url}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def page_shows(driver: object, url: str, *texts: str, timeout: float = 60) -> None:
    driver.get(url)  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        source = driver.page_source  # type: ignore[attr-defined]
        if all(t in source for t in texts):
            return
        time.sleep(0.5)
    missing = [t for t in texts if t not in driver.page_source]  # type: ignore[attr-defined]
    shot(driver, "failure")
    pytest.fail(f"{url} never showed {missing}")


def shot(driver: object, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"dagster-ui-{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    return path


def test_asset_graph_and_partitions_render(webserver: str, browser: object) -> None:
    # Two groups (ingest, processing): the lineage view collapses them, the catalog lists all.
    processed = [f"processed_{k}" for k in ("timeseries", "audio", "video", "events", "table")]
    page_shows(browser, f"{webserver}/assets", "raw_session", "catalog_registration", *processed)
    assert shot(browser, "asset-catalog").stat().st_size > 10_000
    page_shows(
        browser,
        f"{webserver}/assets/raw_session?view=partitions",
        "rec_20261118T090000_rig1",
        "rec_20261118T100000_rig2",
        "Materialized (2)",
    )
    shot(browser, "partitions")
    page_shows(
        browser,
        f"{webserver}/assets/processed_timeseries?view=partitions",
        "rec_20261118T090000_rig1",
        "Materialized (2)",
    )
    shot(browser, "processed-partitions")


def test_a_run_launched_through_graphql_succeeds(webserver: str, browser: object) -> None:
    launch = graphql(
        webserver,
        """mutation Launch($params: ExecutionParams!) {
             launchRun(executionParams: $params) {
               __typename
               ... on LaunchRunSuccess { run { runId } }
               ... on PythonError { message }
               ... on RunConfigValidationInvalid { errors { message } }
             }
           }""",
        {
            "params": {
                "selector": {
                    "repositoryLocationName": "ursa_pipelines.definitions",
                    "repositoryName": "__repository__",
                    "jobName": "raw_inventory",
                },
                "runConfigData": {},
            }
        },
    )
    result = launch["data"]["launchRun"]  # type: ignore[index]
    assert result["__typename"] == "LaunchRunSuccess", result
    run_id = result["run"]["runId"]
    status = ""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and status not in ("SUCCESS", "FAILURE", "CANCELED"):
        time.sleep(1)
        answer = graphql(
            webserver,
            "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }",
            {"id": run_id},
        )
        status = answer["data"]["runOrError"]["status"]  # type: ignore[index]
    assert status == "SUCCESS"
    page_shows(browser, f"{webserver}/runs/{run_id}", "raw_inventory_op")
    shot(browser, "run")
