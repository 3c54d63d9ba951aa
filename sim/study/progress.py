"""Progress of a long job (the steps of a run, the runs of a sweep): a tqdm bar when stderr is a
terminal; elsewhere (nohup, a batch scheduler, ``> log 2>&1``) a plain line every 5 % and at the end,
which a log file keeps readable."""

from __future__ import annotations

import math
import sys
import time
from datetime import timedelta

from tqdm import tqdm

EVERY = 0.05


def clock(seconds: float) -> str:
    """A duration as h:mm:ss."""
    return str(timedelta(seconds=round(seconds)))


class Progress:
    """Counts finished items and shows them: a bar on a terminal, plain lines elsewhere, nothing when
    not ``enabled``. ``initial`` items were done before (a resumed sweep); ``failures`` shows a count of
    failed items."""

    def __init__(self, total: int, desc: str, unit: str, initial: int = 0, enabled: bool = True,
                 failures: bool = False, leave: bool = True):
        self.total, self.desc, self.unit, self.failures = total, desc, unit, failures
        self.done = self.shown = self.initial = initial
        self.failed = 0
        self.started = time.monotonic()
        terminal = sys.stderr.isatty()
        self.plain = enabled and not terminal
        self.every = max(1, math.ceil(total * EVERY))
        self.bar = None
        if enabled and terminal:
            self.bar = tqdm(total=total, initial=initial, unit=unit, desc=desc, leave=leave, dynamic_ncols=True,
                            postfix={"failed": 0} if failures else None)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def advance(self, failed: bool = False) -> None:
        """One more item finished (``failed`` if it failed)."""
        self.done += 1
        self.failed += failed
        if self.bar is not None:
            if self.failures:
                self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(1)
        elif self.plain and (self.done - self.shown >= self.every or self.done == self.total):
            self.show()

    def line(self) -> str:
        """Where the job stands, as one plain line: done of planned, failed, rate and time left."""
        parts = [f"{self.desc}: {self.done:,}/{self.total:,} {self.unit}s "
                 f"({100 * self.done / max(self.total, 1):.0f} %)"]
        if self.failures:
            parts.append(f"{self.failed:,} failed")
        elapsed = time.monotonic() - self.started
        made = self.done - self.initial
        if made > 0 and elapsed > 0:
            rate = made / elapsed
            parts.append(f"{60 * rate:,.1f} {self.unit}s/min")
            parts.append(f"elapsed {clock(elapsed)}")
            if self.done < self.total:
                parts.append(f"about {clock((self.total - self.done) / rate)} left")
        return ", ".join(parts)

    def show(self) -> None:
        """Print the plain line to stderr."""
        self.shown = self.done
        print(self.line(), file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        """A message on stderr that does not break the bar."""
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        """Close the bar, or print the last plain line if the job stopped between two."""
        if self.bar is not None:
            self.bar.close()
        elif self.plain and self.shown != self.done:
            self.show()
