"""An ingest in its own process, for tests that kill it or race two of them.

    python -m tests.ingest_child SESSION CATALOG URL KEY SECRET CONDITIONAL STOP_AT MARKER

``CONDITIONAL`` is ``1`` when the server enforces put-if-absent. ``STOP_AT``
chooses where the process freezes (after writing ``MARKER``) so the test can
``kill -9`` it at a known point:

* ``mid-file`` — inside an upload, after a few chunks of a multipart file;
* ``between-files`` — after the second file is stored, before the third starts;
* ``registration`` — after the modality rows, before the recording row;
* ``none`` — run to the end and print the result as JSON.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ursa_lib import IngestProgress, ingest
from ursa_lib.catalog import Catalog
from ursa_lib.testing import Endpoint, s3_store


def freeze(marker: Path) -> None:
    marker.write_text("frozen")
    while True:  # until the test kills us
        time.sleep(60)


def main(argv: list[str]) -> None:
    session, catalog_dir, url, key, secret, conditional, stop_at, marker = argv
    raw = s3_store(Endpoint(url, key, secret), supports_create=conditional == "1")
    catalog = Catalog(catalog_dir, writable=True)
    polls = 0

    def is_active() -> bool:
        nonlocal polls
        polls += 1
        if stop_at == "mid-file" and polls == 6:
            freeze(Path(marker))
        return False

    def progress(event: IngestProgress) -> None:
        if stop_at == "between-files" and event.files_done == 2:
            freeze(Path(marker))

    if stop_at == "registration":
        register_recording = Catalog.register_recording

        def frozen_register(self: Catalog, row: object) -> object:
            freeze(Path(marker))
            return register_recording(self, row)  # type: ignore[arg-type]

        Catalog.register_recording = frozen_register  # type: ignore[method-assign, assignment]

    result = ingest(
        Path(session) / "manifest.json",
        raw=raw,
        catalog=catalog,
        max_concurrent_files=1 if stop_at != "none" else 4,
        is_active=is_active,
        progress=progress,
    )
    print(
        json.dumps(
            {
                "recording_hash": result.recording_hash,
                "files_uploaded": result.files_uploaded,
                "files_skipped": result.files_skipped,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
