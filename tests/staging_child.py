"""An ingest on the local profile that freezes mid-file, for tests that kill it.

    python -m tests.staging_child ROOT SESSION MARKER

It writes ``MARKER`` once a few chunks of its one big file are staged, then
waits for the test's ``kill -9``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ursa_lib import LocalProfile, ingest, open_store
from ursa_lib.catalog import Catalog


def main(argv: list[str]) -> None:
    root, session, marker = argv
    profile = LocalProfile(root=Path(root))
    polls = 0

    def is_active() -> bool:
        nonlocal polls
        polls += 1
        if polls == 4:  # the start, then after each 4 MiB chunk read: mid-file
            Path(marker).write_text("frozen")
            while True:  # until the test kills us
                time.sleep(60)
        return False

    ingest(
        Path(session) / "manifest.json",
        raw=open_store(profile, "raw_rw"),
        catalog=Catalog.open(profile, writable=True),
        max_concurrent_files=1,
        is_active=is_active,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
