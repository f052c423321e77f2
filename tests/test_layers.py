"""The library's packages form layers in data-flow order; no layer imports a higher one.

Every import counts, including imports inside functions and under
``TYPE_CHECKING``: a lazy upward import is still an upward dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ursa_lib

ROOT = Path(ursa_lib.__file__).parent

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"_errors", "_types", "_time", "_text", "_secrets", "_config"}),
    frozenset({"_layout"}),
    frozenset({"store"}),
    frozenset({"catalog"}),
    frozenset({"ingestion"}),
    frozenset({"processing"}),
    frozenset({"delivery"}),
    frozenset({"lifecycle"}),
    frozenset(
        {"_interface", "_facade_catalog", "_facade_data", "_demo", "cli", "testing", "__init__"}
    ),
)


def layer_of(top: str) -> int:
    for level, names in enumerate(LAYERS):
        if top in names:
            return level
    raise AssertionError(f"ursa_lib/{top} belongs to no layer: add it to LAYERS")


def imported_tops(path: Path) -> set[str]:
    """The top-level ursa_lib modules or packages that ``path`` imports."""
    package = path.relative_to(ROOT).parent.parts
    tops = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                parts = [*base, *(node.module.split(".") if node.module else [])]
                if parts:
                    tops.add(parts[0])
                else:  # `from . import x` at the top of the package
                    tops.update(alias.name for alias in node.names)
            elif node.module and node.module.split(".")[0] == "ursa_lib":
                parts = node.module.split(".")
                tops.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "ursa_lib" and len(parts) > 1:
                    tops.add(parts[1])
    return tops


def test_every_module_has_a_layer() -> None:
    for path in ROOT.rglob("*.py"):
        layer_of(path.relative_to(ROOT).parts[0].removesuffix(".py"))


def test_no_layer_imports_a_higher_one() -> None:
    upward = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        own = layer_of(rel.parts[0].removesuffix(".py"))
        for top in imported_tops(path):
            if layer_of(top) > own:
                upward.append(f"ursa_lib/{rel.as_posix()} imports ursa_lib.{top}")
    assert upward == []


def test_the_check_sees_an_upward_import() -> None:
    # The scanner must resolve relative imports, or the check above proves nothing.
    store = ROOT / "store" / "_store.py"
    assert "catalog" not in imported_tops(store)
    tops = imported_tops(ROOT / "delivery" / "_query.py")
    assert "catalog" in tops
    assert layer_of("delivery") > layer_of("catalog")
    assert imported_tops(ROOT / "cli" / "_download.py") & {"delivery"}
