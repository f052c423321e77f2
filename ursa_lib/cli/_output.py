"""What the commands print: tables, JSON, human sizes and times, progress.

Results go to stdout (a table, or JSON with ``--json``); progress, hints and
errors go to stderr, so ``--json`` output can be piped as is. On a terminal,
progress is a live bar; elsewhere (CI logs, pipes) it is a plain line every
few seconds (``URSA_PROGRESS_INTERVAL_S``, default 5) and one at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._text import human_duration
from ._errors import STATE

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "Transfer",
    "emit_json",
    "human_bytes",
    "human_duration",
    "human_time",
    "print_table",
    "say",
]


PIPED_WIDTH = 400
"""Line width when output goes to a pipe or a file and ``COLUMNS`` is not set: wide
enough that table rows stay whole lines (for grep, less -S), not folded at 80."""


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal and not _columns_set():
        console = Console(stderr=stderr, width=PIPED_WIDTH)
    elif console.width < 1:  # COLUMNS=0 (or junk): rich would print nothing at all
        console = Console(stderr=stderr, width=PIPED_WIDTH if not console.is_terminal else 80)
    return console


def _columns_set() -> bool:
    """Whether ``COLUMNS`` holds a usable width (a whole number of 1 or more)."""
    value = os.environ.get("COLUMNS", "")
    return value.isdigit() and int(value) > 0


def say(text: str) -> None:
    """A human summary line on stdout (silent with ``--quiet``)."""
    if not STATE.quiet:
        _console().print(text, highlight=False, markup=False)


def emit_json(value: Any) -> None:
    """One JSON document on one line of stdout (printed even with ``--quiet``)."""
    sys.stdout.write(json.dumps(value, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


SHORTEST = 12
"""A column cut short to fit a terminal keeps at least this many characters."""


def print_table(
    rows: Iterable[Mapping[str, str]],
    columns: Iterable[str],
    *,
    title: str | None = None,
    right: Iterable[str] = (),
    header: bool = True,
    optional: Sequence[str] = (),
    shorten: str | None = None,
) -> None:
    """A rich table on stdout (silent with ``--quiet``).

    A table wider than the terminal gives way in the order of ``optional``: each
    column named there is left out in turn, and where ``shorten`` is named among
    them, cutting that column's cells (in the middle, to at least `SHORTEST`
    characters) comes before leaving out the columns after it (``shorten`` not
    named: cutting comes first). It gives way only until it fits, then takes
    back any column left out that fits beside the rest; a caption names what
    was left out, and rows stay one line each. A table that cannot
    fit that way (or has neither) folds its cells.
    """
    if STATE.quiet:
        return
    from rich.cells import cell_len
    from rich.table import Table

    console = _console()
    cells = [dict(row) for row in rows]
    every = list(columns)
    aligned = set(right)

    def make(shown: list[str], cut: int | None, fit: bool) -> Table:
        table = Table(title=title, show_header=header, box=None, header_style="bold underline")
        for column in shown:
            table.add_column(
                column,
                justify="right" if column in aligned else "left",
                overflow="ellipsis" if fit else "fold",
                no_wrap=fit,
                max_width=cut if column == shorten else None,
            )
        for row in cells:
            table.add_row(*(row.get(column, "") for column in shown))
        return table

    # Each column's widest cell, in terminal cells; a column pads one cell each side.
    widest = {
        column: max(cell_len(text) for text in (column, *(row.get(column, "") for row in cells)))
        for column in every
    }

    def needs(shown: list[str], cut: int | None) -> int:
        return sum(
            2 + (min(widest[c], cut) if c == shorten and cut is not None else widest[c])
            for c in shown
        )

    fits = console.width
    if needs(every, None) <= fits or not (optional or shorten):
        console.print(make(every, None, fit=False))
        return
    shown, hidden = list(every), []
    floor = SHORTEST if shorten in every else None
    order = list(optional)
    if shorten is not None and shorten not in order:
        order.insert(0, shorten)  # not named: cutting it comes first
    cutting = None  # the shortest the shorten column may be: whole until its turn
    for column in order:
        if needs(shown, cutting) <= fits:
            break
        if column == shorten:
            cutting = floor
            if needs(shown, floor) <= fits:
                break  # cutting it is enough
            continue
        shown.remove(column)
        hidden.append(column)
    for column in reversed(hidden):  # one left out early may fit beside the rest after all
        wider = [c for c in every if c in shown or c == column]
        if needs(wider, None) <= fits:
            shown, hidden = wider, [c for c in hidden if c != column]
    if needs(shown, floor) > fits:  # too narrow even so: fold, as any table
        console.print(make(every, None, fit=False))
        return
    cut = None
    over = needs(shown, None) - fits
    if shorten in shown and over > 0:
        cut = widest[shorten] - over
        for row in cells:
            row[shorten] = _middle_cut(row.get(shorten, ""), cut)
    table = make(shown, cut, fit=True)
    if hidden:
        table.caption = (
            f"{', '.join(hidden)} left out to fit {fits} columns; --json has every field"
        )
    console.print(table)


def _middle_cut(text: str, width: int) -> str:
    """``text`` in ``width`` terminal cells, its middle replaced by ``…``: names that
    differ at the end (``…_rig1``, ``…_rig2``) still differ when cut."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= width:
        return text
    tail = (width - 1) // 2
    head = width - 1 - tail
    return set_cell_size(text, head) + "…" + set_cell_size(text[::-1], tail)[::-1]


def human_bytes(size: int | None) -> str:
    """``1536`` → ``1.5 KiB``; None → ``?``."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError(size)


def human_time(epoch_ns: int) -> str:
    """Epoch nanoseconds as ``2026-11-21 10:15:00 UTC``."""
    moment = dt.datetime.fromtimestamp(epoch_ns / 1e9, tz=dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("URSA_PROGRESS_INTERVAL_S", "5")))
    except ValueError:
        return 5.0


class Transfer:
    """Progress of an ingest or download: a rich bar on a terminal, else plain lines."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._started = time.monotonic()
        self._last_line = self._started
        self._bar: Any = None
        self._task: Any = None
        self._state: tuple[int, int | None, int, int | None] = (0, None, 0, None)
        self._printed: tuple[int, int | None, int, int | None] | None = None
        self._kept = 0
        self._err = None if STATE.quiet else _console(stderr=True)

    def __enter__(self) -> Transfer:
        if self._err is not None and self._err.is_terminal:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(binary_units=True),
                TransferSpeedColumn(),
                TextColumn("{task.fields[files]}"),
                TimeRemainingColumn(),
                console=self._err,
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.label, total=None, files="")
        return self

    def update(
        self,
        done: int,
        total: int | None,
        files_done: int,
        files_total: int | None,
        description: str | None = None,
        *,
        kept: int = 0,
    ) -> None:
        """``done`` of ``total`` bytes so far, of which ``kept`` were already there
        (counted as done, never moved: the rate is over the rest). The live bar
        counts only the bytes to move, so its speed and time left are theirs."""
        self._state = (done, total, files_done, files_total)
        self._kept = kept
        if self._bar is not None:
            there = f", {human_bytes(kept)} already there" if kept else ""
            self._bar.update(
                self._task,
                total=None if total is None else total - kept,
                completed=done - kept,
                files=f"{files_done}/{files_total if files_total is not None else '?'} files"
                + there,
                description=description or self.label,
            )
        elif self._err is not None:
            now = time.monotonic()
            if now - self._last_line >= _interval():
                self._last_line = now
                self._line()

    def _line(self) -> None:
        if self._state == self._printed:
            return  # said already (a short interval printed the last update)
        self._printed = self._state
        done, total, files_done, files_total = self._state
        elapsed = time.monotonic() - self._started
        share = f" ({done / total:.0%})" if total else ""
        moved = done - self._kept
        rate = human_bytes(int(moved / elapsed)) + "/s" if elapsed > 0 else "?"
        kept = f" ({human_bytes(self._kept)} already there)" if self._kept else ""
        print(
            f"{self.label}: {human_bytes(done)} / {human_bytes(total)}{share}{kept}, "
            f"{files_done}/{files_total if files_total is not None else '?'} files, "
            f"{rate}, {human_duration(elapsed)}",
            file=sys.stderr,
            flush=True,
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)
        elif self._err is not None and kind is None:
            self._line()


def show_plan(
    verb: str, files: list[tuple[str, str, int, str]], requests: int, as_json: bool
) -> None:
    """A dry run's plan: ``(local path, object uri, bytes, action)`` per file."""
    counts: dict[str, int] = {}
    moved = 0
    for _, _, size, action in files:
        counts[action] = counts.get(action, 0) + 1
        moved += 0 if action == "skip" else size
    if as_json:
        emit_json(
            {
                "dry_run": True,
                "files": [{"path": p, "uri": u, "bytes": b, "action": a} for p, u, b, a in files],
                "counts": counts,
                "bytes": sum(f[2] for f in files),
                "bytes_to_transfer": moved,
                "requests": requests,
            }
        )
        return
    rows = [{"action": a, "bytes": f"{b:,}", "path": p, "object": u} for p, u, b, a in files]
    print_table(rows, ("action", "bytes", "path", "object"), right=("bytes",))
    summary = ", ".join(f"{a} {n}" for a, n in sorted(counts.items()))
    say(
        f"dry run, nothing moved: {verb} would {summary} ({len(files)} files), "
        f"{human_bytes(moved)} ({moved:,} bytes) to transfer, about {requests:,} store requests"
    )
