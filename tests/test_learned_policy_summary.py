"""The learned-policy benchmark's summary: rates must not depend on the run's concurrency."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks.learned_policy import summary_rows


def row(total_s: float, waiting_s: float) -> SimpleNamespace:
    return SimpleNamespace(stats={
        "policy_calls": 10, "time_policy_s": 2.0, "time_total_s": total_s,
        "time_waiting_s": waiting_s, "expansions": 10,
    })  # fmt: skip


def test_expansions_per_second_leave_out_the_time_queued_for_a_prover():
    """Two searches of 4 s each, one of which first waited 6 s for a process (concurrency over
    the pool): 20 expansions in 8 s of searching, not in 14 s."""
    run = SimpleNamespace(method="m", solved={"a"}, rows=[row(4.0, 0.0), row(10.0, 6.0)])
    [summary] = summary_rows([run], total=2, confirmed={"m": 1})
    assert summary["expansions_per_s"] == 20 / 8
    assert summary["policy_share_of_time"] == 4 / 8
    assert summary["solved"] == 1 and summary["unique"] == 1
