"""Who is processing a modality: a lease kept in the row, and when it is dead.

A lease names its holder (``host:pid``) and when it was taken. A process can
take over a row left ``ingesting`` when the holder is gone: on the same host
its pid no longer exists (a ``kill -9``) or is the caller itself (an
orchestrator retrying the step in the same process); on another host, only
once the lease is older than the caller's staleness bound.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["lease_for", "lease_is_dead"]


def lease_for() -> dict[str, Any]:
    """A lease held by this process, taken now."""
    return {"owner": f"{socket.gethostname()}:{os.getpid()}", "since_ns": time.time_ns()}


def lease_is_dead(lease: Mapping[str, Any], stale_after_s: float) -> bool:
    """Whether the holder of ``lease`` can no longer be working on its row."""
    since = lease.get("since_ns")
    if not isinstance(since, int) or time.time_ns() - since > stale_after_s * 1e9:
        return True
    host, _, pid = str(lease.get("owner", "")).rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's process: only its age can tell
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by another user
    return False
