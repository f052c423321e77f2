"""A delete in its own process that kills itself (SIGKILL) at a chosen step.

python -c "from tests.delete_child import main; main([...])" PROFILE_JSON RECORDING STEP COUNT
"""

from __future__ import annotations

import json
import os
import signal

from ursa_lib import DataInterface, LocalProfile, S3Profile
from ursa_lib.lifecycle import delete_recordings


def main(argv: list[str]) -> None:
    profile_json, recording, step, count = argv
    data = json.loads(profile_json)
    profile = (S3Profile if data.get("kind") == "s3" else LocalProfile).model_validate(data)
    ursa = DataInterface(profile).enable_writes()
    seen = 0

    def on_step(name: str) -> None:
        nonlocal seen
        if name == step:
            seen += 1
            if seen == int(count):
                os.kill(os.getpid(), signal.SIGKILL)

    delete_recordings(
        raw=ursa.store("raw_rw"),
        assets=ursa.store("assets_rw"),
        catalog=ursa.catalog(writable=True),
        reason="consent withdrawn",
        profile=profile.name,
        recording=recording,
        on_step=on_step,
    )
