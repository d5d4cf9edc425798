"""The learned-policy benchmark's summary: rates must not depend on the run's concurrency."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

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


def test_the_confidence_report_counts_pairs_past_one_over_n_and_what_the_filter_skips():
    """Half the pairs at p = 0.9, half at p = 0.01. At N = 4 the confident half is past 1/4 and
    its weight F(4, 0.9) = 0.0036 is under the threshold, so the filter skips it; the other
    half keeps F(4, 0.01) = 0.98, nearly CE's weight. At N = 64, p = 0.01 is still under 1/64
    and keeps F = 0.72."""
    from benchmarks.target_confidence import confidence

    report = confidence([math.log(0.9), math.log(0.01)] * 5, [4.0, 64.0], threshold=0.1)
    assert report["pairs"] == 10 and report["median_p"] == pytest.approx(0.455)
    at4, at64 = report["by_n"]["4"], report["by_n"]["64"]
    assert at4["share_above_1_over_n"] == 0.5 and at4["share_skipped"] == 0.5
    assert at64["share_above_1_over_n"] == 0.5
    assert at64["share_skipped"] == 0.5
    assert at4["mean_weight"] == pytest.approx((0.0036 + 0.98498) / 2, abs=1e-4)
    assert at64["mean_weight"] == pytest.approx(0.71622 / 2, abs=1e-4)


def test_paired_counts_and_the_sign_test():
    """Round 2 against CE in the 2026-12-02 run: +4 −0, two-sided p = 2/16 = 0.125 (the
    one-sided 0.06 the docs quote); no difference gives p = 1."""
    from benchmarks.learned_policy import paired_rows, sign_test

    assert sign_test(4, 0) == 0.125 and sign_test(0, 0) == 1.0 and sign_test(3, 3) == 1.0
    runs = [SimpleNamespace(method="model-free", solved={"a", "b"}),
            SimpleNamespace(method="ce", solved={"b", "c", "d"})]  # fmt: skip
    [row] = paired_rows(runs, ["ce"])
    assert (row["method"], row["wins"], row["losses"]) == ("model-free", 1, 2)
    assert [r["against"] for r in paired_rows(runs, ["model-free", "ce", "absent"])] == [
        "model-free", "ce"]  # fmt: skip


def test_the_confidence_sample_is_spread_over_the_file_and_keeps_only_its_split(tmp_path):
    """Library order puts all arithmetic first: a sample must reach the end of the file."""
    from benchmarks.target_confidence import sample_pairs

    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(
        json.dumps({"state": f"s{i}", "tactic": "auto.", "random": "valid" if i % 2 else "test"})
        + "\n" for i in range(20)
    ))  # fmt: skip
    picked = [json.loads(line)["state"] for line in
              sample_pairs(source, tmp_path / "all.jsonl", 4).read_text().splitlines()]  # fmt: skip
    assert picked == ["s0", "s5", "s10", "s15"]
    valid = sample_pairs(source, tmp_path / "valid.jsonl", 100, split="valid").read_text()
    assert len(valid.splitlines()) == 10 and '"test"' not in valid


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--count", "0"], "--count must be at least 1"),
        (["--n-eff", "4,x"], "--n-eff must be numbers"),
        (["--n-eff", "0.5"], "--n-eff values must be at least 1"),
    ],
)
def test_the_confidence_report_refuses_bad_options_in_one_line(tmp_path, capsys, options, message):
    from benchmarks.target_confidence import parse_args

    (tmp_path / "pairs-random-train.jsonl").write_text("")
    (tmp_path / "pairs.jsonl").write_text("")
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--models", "ce=m", "--corpus", str(tmp_path), *options])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_the_confidence_report_names_a_folder_that_is_not_a_corpus(tmp_path, capsys):
    from benchmarks.target_confidence import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--models", "ce=m", "--corpus", str(tmp_path)])
    assert "no pairs-random-train.jsonl" in capsys.readouterr().err
