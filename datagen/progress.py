"""Progress and summaries on stderr, for every command: a bar on a terminal, a line every few seconds
on a pipe or a file (a log shows the run is alive), and tables that do not wrap at a narrow width.

``console()`` is the stderr console every summary prints through: without a terminal rich would
assume 80 columns and wrap a table's title and caption to the table's own width, cutting paths
mid-word; here it gets ``$COLUMNS`` or ``PIPE_WIDTH`` and ``table()`` keeps titles whole.
"""

from __future__ import annotations

import os
import sys
import time

PIPE_EVERY_S = 5.0  # seconds between two progress lines on a pipe
PIPE_WIDTH = 200  # columns a summary may take when stderr is not a terminal


def console(**options):
    """The rich console on stderr (``options`` as rich's), with a sane width when stderr is not a terminal."""
    from rich.console import Console

    if sys.stderr.isatty():
        return Console(stderr=True, **options)
    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else PIPE_WIDTH
    return Console(stderr=True, width=width, soft_wrap=True, **options)


def fit(table):
    """``table`` at least as wide as its title, its caption printed under it as a line of its own (rich
    wraps both to the table's width, which cuts a path mid-word)."""
    from rich.console import Group
    from rich.text import Text

    if table.title:
        table.min_width = max(table.min_width or 0, len(str(table.title)) + 2)
    if not table.caption:
        return table
    caption, table.caption = str(table.caption), None
    return Group(table, Text(caption))


class PipeProgress:
    """``label: 120,000/1,000,000 rows (12%), 10 s`` on stderr every ``PIPE_EVERY_S`` seconds, when stderr
    is not a terminal (a terminal has the bar). ``advance(n)`` counts; nothing prints when ``quiet``."""

    def __init__(self, label: str, total: int | None = None, unit: str = "rows", quiet: bool = False) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.on = not quiet and not sys.stderr.isatty()
        self.done = 0
        self.started = self.last = time.monotonic()

    def advance(self, n: int, *_ignored) -> None:
        self.done += n
        if not self.on:
            return
        now = time.monotonic()
        if now - self.last >= PIPE_EVERY_S:
            self.last = now
            of = f"/{self.total:,}" if self.total else ""
            share = f" ({self.done / self.total:.0%})" if self.total else ""
            print(f"{self.label}: {self.done:,}{of} {self.unit}{share}, {now - self.started:.0f} s",
                  file=sys.stderr, flush=True)

    def update(self, done: int) -> None:
        self.advance(done - self.done)
