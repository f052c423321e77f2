"""Every Python snippet of the README and docs/ runs as written, against the demo's data;
every JSON manifest example of docs/manifest.md is a valid manifest.

The snippets of one file run in order in one fresh interpreter (a later snippet
may use what an earlier one defined), in a folder where ``make demo`` has run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ursa_lib.ingestion import parse_manifest
from ursa_pipelines.demo import main as demo

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def blocks(path: Path, language: str) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(path.read_text()) if m.group(1) == language]


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("docs")
    demo(["--root", str(folder / ".ursa"), "--sessions", "2", "--segments", "3"])
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("doc", [d for d in DOCS if blocks(d, "python")], ids=lambda d: d.name)
def test_python_snippets_run_as_written(doc: Path, demo_folder: Path) -> None:
    script = "\n\n".join(blocks(doc, "python"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("URSA_")}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=demo_folder,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"{doc.name}:\n{result.stderr[-3000:]}"


def test_manifest_examples_are_valid_manifests() -> None:
    examples = [json.loads(b) for b in blocks(REPO / "docs" / "manifest.md", "json")]
    assert len(examples) >= 3
    for example in examples:
        parse_manifest("docs/manifest.md", example)


def test_the_snippets_are_found() -> None:
    assert len(blocks(REPO / "README.md", "python")) >= 3
