"""No module but the layout builds or parses a bucket key from its literal folders.

Every string constant of ``ursa_lib`` and ``ursa_pipelines`` that holds
``recordings/`` or ``processed/`` is a failure outside ``ursa_lib/_layout.py``
— docstrings and attribute docstrings excepted (they explain the layout).
"""

from __future__ import annotations

import ast
from pathlib import Path

import ursa_lib
import ursa_pipelines

ROOTS = [Path(ursa_lib.__file__).parent, Path(ursa_pipelines.__file__).parent]
LAYOUT = Path(ursa_lib.__file__).parent / "_layout.py"
FOLDERS = ("recordings/", "processed/")


def literal_keys(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    prose = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in prose
        and any(folder in node.value for folder in FOLDERS)
    ]


def test_only_the_layout_spells_the_bucket_folders() -> None:
    found = [
        hit
        for root in ROOTS
        for p in sorted(root.rglob("*.py"))
        if p != LAYOUT
        for hit in literal_keys(p)
    ]
    assert found == []


def test_the_scan_sees_a_key_literal(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""recordings/ in a docstring is fine."""\nKEY = f"recordings/{1}"\n')
    assert len(literal_keys(sample)) == 1
    assert literal_keys(LAYOUT)  # the layout itself does spell them
