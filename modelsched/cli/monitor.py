"""The live apply monitor: the `Reporter` the CLI gives a driver during apply.

Event lines (`nomad: registered job x`) are printed as they come. While the driver
waits, each `WaitStatus` shows per model `running/wanted`, pending, failed and the
time elapsed: on a terminal as one block redrawn in place, elsewhere (CI logs, pipes,
TERM=dumb) as one `Still waiting: ...` line every `interval` seconds of the wait.
Time comes from the driver's status, never from a clock here. Data is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO

from modelsched.output.escape import escape_lines
from modelsched.workflow import ModelProgress, WaitStatus

INTERVAL = 10.0  # seconds between "Still waiting" lines off a terminal
SHOWN_IN_LINE = 5  # models named in one "Still waiting" line before "and N more"
SHOWN_IN_BLOCK = 20  # model rows in the live block before "and N more"


def elapsed_text(seconds: float) -> str:
    return f"{int(seconds)}s"


def is_waiting(m: ModelProgress) -> bool:
    return m.running != m.wanted or m.pending > 0 or m.failed > 0


def progress_text(m: ModelProgress) -> str:
    """`whisper 1/2 running, 1 pending, 1 failed`"""
    text = f"{escape_lines(m.model)} {m.running}/{m.wanted} running"
    if m.pending:
        text += f", {m.pending} pending"
    if m.failed:
        text += f", {m.failed} failed"
    return text


def still_waiting_line(status: WaitStatus) -> str | None:
    """`Still waiting: whisper 1/2 running, 1 pending [20s elapsed]`, or None when nothing waits."""
    waiting = [m for m in sorted(status.models, key=lambda m: m.model) if is_waiting(m)]
    if not waiting:
        return None
    shown = "; ".join(progress_text(m) for m in waiting[:SHOWN_IN_LINE])
    if len(waiting) > SHOWN_IN_LINE:
        shown += f"; and {len(waiting) - SHOWN_IN_LINE} more model(s)"
    return f"Still waiting: {shown} [{elapsed_text(status.elapsed)} elapsed]"


def block_lines(status: WaitStatus) -> list[str]:
    """The live block: a header, then one row per model (done models say so)."""
    models = sorted(status.models, key=lambda m: m.model)
    waiting = sum(1 for m in models if is_waiting(m))
    lines = [f"Waiting for {waiting} of {len(models)} model(s) [{elapsed_text(status.elapsed)} elapsed]"]
    width = max((len(escape_lines(m.model)) for m in models[:SHOWN_IN_BLOCK]), default=0)
    for m in models[:SHOWN_IN_BLOCK]:
        row = f"  {escape_lines(m.model).ljust(width)}  {m.running}/{m.wanted} running"
        if m.pending:
            row += f", {m.pending} pending"
        if m.failed:
            row += f", {m.failed} failed"
        if not is_waiting(m):
            row += "  done"
        lines.append(row)
    if len(models) > SHOWN_IN_BLOCK:
        lines.append(f"  and {len(models) - SHOWN_IN_BLOCK} more model(s)")
    return lines


def live_terminal(stream: IO[str], env: Mapping[str, str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and env.get("TERM", "") != "dumb"


class Monitor:
    """A `Reporter` writing to `stream`; `live` redraws one block in place (a terminal)."""

    def __init__(self, stream: IO[str], *, live: bool, interval: float = INTERVAL) -> None:
        self._out = stream
        self._live = live
        self._interval = interval
        self._next_line = interval
        self._drawn = 0  # lines of the live block on screen (at the bottom)
        self._block: list[str] = []
        self.last: WaitStatus | None = None

    @classmethod
    def for_stream(cls, stream: IO[str], env: Mapping[str, str]) -> Monitor:
        return cls(stream, live=live_terminal(stream, env))

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def _erase(self) -> str:
        # Cursor to the start of the block, clear to the end of the screen.
        return f"\x1b[{self._drawn}F\x1b[J" if self._drawn else ""

    def __call__(self, message: str) -> None:
        """An event line; on a terminal it goes above the live block, which is redrawn below it."""
        line = escape_lines(message) + "\n"
        if self._drawn:
            self._write(self._erase() + line + "".join(row + "\n" for row in self._block))
            return
        self._write(line)

    def waiting(self, status: WaitStatus) -> None:
        self.last = status
        if self._live:
            self._block = block_lines(status)
            self._write(self._erase() + "".join(row + "\n" for row in self._block))
            self._drawn = len(self._block)
            return
        if status.elapsed < self._next_line:
            return
        self._next_line = (status.elapsed // self._interval + 1) * self._interval
        line = still_waiting_line(status)
        if line is not None:
            self._write(line + "\n")
