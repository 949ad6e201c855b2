"""Progress of a batch on stderr: one line kept up to date on a terminal, a line every PERIOD_S otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

PERIOD_S = 10.0


class Progress:
    """Counts finished clips and shows the rate and the time left."""

    def __init__(self, total: int, skipped: int, stream: TextIO | None = None) -> None:
        self.total, self.skipped, self.done, self.errors = total, skipped, 0, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = self._shown = time.monotonic()

    def update(self, verdict: str) -> None:
        self.done += 1
        self.errors += verdict == "error"
        now = time.monotonic()
        if self.tty or now - self._shown >= PERIOD_S or self.done == self.total:
            self._shown = now
            self._show(now)

    def _show(self, now: float) -> None:
        rate = self.done / max(now - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate else float("inf")
        line = (f"batch: {self.done}/{self.total} clips verified ({self.skipped} done before), {self.errors} errors, "
                f"{rate:.2f} clips/s, {_duration(left)} left")
        end = "" if self.tty and self.done < self.total else "\n"
        self.stream.write(("\r" if self.tty else "") + line + end)
        self.stream.flush()


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
