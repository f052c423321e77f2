"""Processing in its own process, for tests that kill it.

    python -m tests.process_child PROFILE_JSON RECORDING_HASH STOP_AT MARKER

``PROFILE_JSON`` is an S3 profile (its keys come from the environment).

``STOP_AT`` chooses where the process freezes (after writing ``MARKER``) so
the test can ``kill -9`` it at a known point:

* ``mid-upload`` — the first object of the ``eeg`` asset is being uploaded
  (the modalities before it are processed, the ones after it untouched);
* ``before-flip`` — every ``eeg`` object and its lineage row are stored, the
  modality row is not yet flipped;
* ``none`` — run to the end.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from ursa_lib import DataInterface, S3Profile
from ursa_lib.catalog import Catalog
from ursa_lib.store import Store


def freeze(marker: Path) -> None:
    marker.write_text("frozen")
    while True:  # until the test kills us
        time.sleep(60)


def main(argv: list[str]) -> None:
    profile, recording_hash, stop_at, marker = argv
    ui = DataInterface(S3Profile.model_validate_json(profile)).enable_writes()

    if stop_at == "mid-upload":
        put = Store.put

        def frozen_put(self: Store, object_key: str, *args: Any, **kwargs: Any) -> Any:
            if object_key.startswith(f"processed/{recording_hash}/eeg/"):
                freeze(Path(marker))
            return put(self, object_key, *args, **kwargs)

        Store.put = frozen_put  # type: ignore[method-assign]
    elif stop_at == "before-flip":
        mark_processed = Catalog.mark_processed

        def frozen_flip(self: Catalog, recording_hash: str, modality: str, **kw: Any) -> Any:
            if modality == "eeg":
                freeze(Path(marker))
            return mark_processed(self, recording_hash, modality, **kw)

        Catalog.mark_processed = frozen_flip  # type: ignore[method-assign]

    ui.process(recording_hash)


if __name__ == "__main__":
    main(sys.argv[1:])
