"""What the bench scripts share: a median of several timed runs."""

from __future__ import annotations

import statistics
import time


def median_ms(fn, runs: int, inner: int) -> float:
    """Median over ``runs`` runs of the milliseconds one call of ``fn`` takes (``inner`` calls a run)."""
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t) / inner * 1000)
    return statistics.median(samples)
