"""The one latency meter: percentiles as statistics.quantiles computes them, a bounded memory."""

from __future__ import annotations

import statistics

import pytest

from search.latency import LatencyMeter


def test_quantiles_interpolate_like_statistics_inclusive():
    data = [0.5, 0.1, 0.9, 0.3, 0.7, 0.2]
    meter = LatencyMeter(seconds=data)
    cuts = statistics.quantiles(data, n=20, method="inclusive")
    assert meter.quantile(0.5) == pytest.approx(cuts[9]) and meter.quantile(0.95) == pytest.approx(cuts[18])
    assert meter.summary()["mean_s"] == pytest.approx(statistics.fmean(data))
    assert LatencyMeter().quantile(0.5) is None and LatencyMeter(seconds=[2.0]).quantile(0.9) == 2.0


def test_it_keeps_the_last_n_but_counts_every_call_and_times_a_block_that_raises():
    meter = LatencyMeter(keep=3, seconds=[10.0, 1.0, 1.0, 1.0])
    assert meter.count == 4 and meter.quantile(0.99) == 1.0
    with pytest.raises(RuntimeError), meter.timing():
        raise RuntimeError("the call failed")
    assert meter.count == 5
