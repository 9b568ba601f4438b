"""Benchmarks (``baken bench …``): measured against local fakes of the providers
(``bot.fakes``, the same fakes the tests use), never the internet."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99) of the values, interpolated; 0 for no values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
