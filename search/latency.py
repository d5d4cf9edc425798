"""One way to measure how long calls take: the Lean pool's step latency, the search
benchmark's tactic latency and the REPL-overhead benchmark all keep a ``LatencyMeter``.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections import deque
from collections.abc import Iterable, Iterator


class LatencyMeter:
    """Wall times of one kind of call, in seconds: the last ``keep`` of them (all when None)
    for percentiles, and the count of every call observed."""

    def __init__(self, keep: int | None = 10_000, seconds: Iterable[float] = ()) -> None:
        self._seconds: deque[float] = deque(maxlen=keep)
        self.count = 0
        for value in seconds:
            self.observe(value)

    def observe(self, seconds: float) -> None:
        self.count += 1
        self._seconds.append(seconds)

    @contextlib.contextmanager
    def timing(self) -> Iterator[None]:
        """Observe the wall time of the ``with`` block (also when it raises)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(time.perf_counter() - started)

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile (0 < q < 1) of the kept times, linearly interpolated between
        order statistics (``statistics.quantiles``' inclusive method); None when empty."""
        kept = sorted(self._seconds)
        if not kept:
            return None
        if len(kept) == 1:
            return kept[0]
        position = q * (len(kept) - 1)
        low = int(position)
        high = min(low + 1, len(kept) - 1)
        return kept[low] + (kept[high] - kept[low]) * (position - low)

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self._seconds) if self._seconds else None

    def summary(self) -> dict[str, float | None]:
        """Median, p90, p95 and mean of the kept times, in seconds."""
        return {
            "p50_s": self.quantile(0.5),
            "p90_s": self.quantile(0.9),
            "p95_s": self.quantile(0.95),
            "mean_s": self.mean,
        }
