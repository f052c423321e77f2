"""The ingest assets' checks: their specs, and the library's `SessionReport`
turned into check results (the computation is `ursa_lib.verify_session`)."""

# No `from __future__ import annotations`: Dagster reads these annotations.

from typing import Any

import dagster as dg

from ursa_lib import SessionReport

__all__ = [
    "CATALOG_ROWS_COMPLETE",
    "OBJECTS_MATCH_MANIFEST",
    "catalog_rows_complete",
    "objects_match_manifest",
]

OBJECTS_MATCH_MANIFEST = dg.AssetCheckSpec(
    "objects_match_manifest",
    asset="raw_session",
    description="Every file of the manifest is stored with its size, and nothing else.",
)
CATALOG_ROWS_COMPLETE = dg.AssetCheckSpec(
    "catalog_rows_complete",
    asset="catalog_registration",
    description="The recording row and one modality row per worker directory exist.",
)


def objects_match_manifest(report: SessionReport) -> dg.AssetCheckResult:
    """Missing and resized files and unexpected objects, the first 20 of them named."""
    named = [
        *report.missing,
        *(
            f"{m.rel_path} ({m.stored} bytes, manifest says {m.expected})"
            for m in report.wrong_size
        ),
        *(f"{p} (not in the manifest)" for p in report.extra),
    ]
    return _result(
        OBJECTS_MATCH_MANIFEST,
        passed=report.objects_match,
        metadata={
            "files_expected": report.files_expected,
            "missing": len(report.missing),
            "wrong_size": len(report.wrong_size),
            "unexpected": len(report.extra),
        },
        description=", ".join(named[:20]) or None,
    )


def catalog_rows_complete(report: SessionReport) -> dg.AssetCheckResult:
    """The recording row and the modality rows the manifest implies."""
    rows = report.rows
    assert rows is not None, "verify_session was not given the catalog"
    missing = ", ".join(rows.missing_modalities)
    return _result(
        CATALOG_ROWS_COMPLETE,
        passed=rows.complete,
        metadata={
            "modality_rows": len(rows.modalities_found),
            "expected": len(rows.modalities_expected),
        },
        description=(
            ("no recording row; " if not rows.recording_row else "")
            + (f"missing modalities: {missing}" if missing else "")
        )
        or None,
    )


def _result(
    spec: dg.AssetCheckSpec, *, passed: bool, metadata: dict[str, Any], description: str | None
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=spec.name,
        passed=passed,
        metadata=metadata,
        description=description,
        severity=dg.AssetCheckSeverity.ERROR,
    )
