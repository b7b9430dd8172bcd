"""A progress line on standard error: the step under way and the time since the command began.

:class:`Steps` times a command as a sequence of named steps. On a terminal (or when asked,
``--progress``) a step that runs for over a second gets a live line, redrawn every 0.2 s::

    csmetrics: 3.4s  computing metrics (step 2 of 3)

and the command ends with one line of true timings, measured from the command's start to
its end, every step included::

    csmetrics: done in 4.9s (reading events 0.1s, computing metrics 4.6s, writing 0.2s)

Polars releases the GIL while it works, so a small thread can redraw the line. In a pipe, a
log file or CI nothing is printed unless ``--progress`` is given.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TextIO

from csmetrics._text import WIDTH, duration, wrap

__all__ = ["Steps", "since_process_start"]


def since_process_start() -> float:
    """Seconds since this process started (Linux ``/proc``; 0.0 where it cannot be told).

    The interpreter's start and the imports of Polars and csmetrics take a second or more:
    a timing that leaves them out is not the time the user waited.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        return max(0.0, uptime - int(fields[19]) / ticks)
    except (OSError, ValueError, IndexError):
        return 0.0


def _seconds(value: float) -> str:
    """Wall times: ``0.3s``, ``4.9s``, ``1.2m`` (to a tenth of a second under a minute)."""
    return f"{value:.1f}s" if value < 59.95 else duration(value)


class Steps:
    """Named, timed steps of one command, with a live line for the slow ones.

    Parameters
    ----------
    stream
        Where to draw (default standard error).
    enabled
        Draw even when ``stream`` is not a terminal (``--progress``); ``None``: only on a
        terminal.
    total
        How many steps the command has, for the ``step i of n`` text (optional).
    threshold
        Seconds a step runs before its live line appears.
    clock
        The clock (for tests).
    already
        Seconds the command ran before this object was made (the interpreter's start and
        the imports, see :func:`since_process_start`), counted as a ``starting`` step.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Steps(stream=out, enabled=True) as steps:
    ...     with steps.step("computing"):
    ...         pass
    >>> out.getvalue().startswith("csmetrics: done in 0.0s (computing 0.0s)")
    True
    """

    def __init__(
        self,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        total: int | None = None,
        threshold: float = 1.0,
        clock: Callable[[], float] = time.perf_counter,
        already: float = 0.0,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self._tty = bool(isatty and isatty())
        self.enabled = bool(enabled) or (enabled is None and self._tty)
        self._said: tuple[str, int] | None = None
        self.total = total
        self.threshold = threshold
        self.clock = clock
        self.started = clock()
        self.already = already
        self.timings: list[tuple[str, float]] = [("starting", already)] if already else []
        self._label = ""
        self._step_started = 0.0
        self._drawn = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- drawing ---------------------------------------------------------------------------

    def _line(self) -> str:
        done = len(self.timings) - (1 if self.already else 0)
        count = f" (step {done + 1} of {self.total})" if self.total else ""
        return f"csmetrics: {_seconds(self.clock() - self.started)}  {self._label}{count}"

    def _draw(self) -> None:
        with self._lock:
            if not self._label:
                return
            line = self._line()
            if self._tty:
                self.stream.write("\r" + line.ljust(79)[:99])
                self._drawn = True
            elif self._said != (self._label, len(self.timings)):  # a log: once per step
                self.stream.write(line + " …\n")
                self._said = (self._label, len(self.timings))
            self.stream.flush()

    def _clear(self) -> None:
        with self._lock:
            if self._drawn:
                self.stream.write("\r" + " " * 99 + "\r")
                self.stream.flush()
                self._drawn = False

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            if self._label and self.clock() - self._step_started >= self.threshold:
                self._draw()

    # -- API -------------------------------------------------------------------------------

    def __enter__(self) -> Steps:
        self.started = self.clock() - self.already
        if self.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    @contextlib.contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Time the block as the step ``label``."""
        self._label, self._step_started = label, self.clock()
        try:
            yield
        finally:
            self.timings.append((label, self.clock() - self._step_started))
            self._label = ""
            self._clear()

    @property
    def elapsed(self) -> float:
        """Seconds since the command began."""
        return self.clock() - self.started

    def summary(self) -> str:
        """``done in 4.9s (reading 0.1s, computing 4.6s)``: the true timings."""
        parts = ", ".join(f"{label} {_seconds(s)}" for label, s in self.timings)
        return f"done in {_seconds(self.elapsed)}" + (f" ({parts})" if parts else "")

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._clear()
        if self.enabled and kind is None:
            self.stream.write(wrap(f"csmetrics: {self.summary()}", WIDTH, indent="  ") + "\n")
            self.stream.flush()
