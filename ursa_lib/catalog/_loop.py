"""The one event loop that every catalog in the process reads through."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

__all__ = ["EventLoop"]


class EventLoop:
    """One event loop on a daemon thread, shared by every catalog in the process.

    Reads go through LanceDB's async API on this loop: the sync query builder
    costs about twice the latency per lookup.
    """

    _lock = threading.Lock()
    _instance: EventLoop | None = None

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="ursa-catalog", daemon=True).start()

    @classmethod
    def get(cls) -> EventLoop:
        """The process's loop, started on first use."""
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def start(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Start ``coro`` on the loop without waiting (its concurrent future)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)
