"""`prover report` on the rows of a real `prover eval` run (Coq), and on damaged files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from search.report import Report, ReportError, category, read_rows, write_report


def prover(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prover.cli", *args], capture_output=True,
                          text=True, timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def pass_at_n_results(tmp_path_factory, minif2f_coq):
    """A real evaluation: pass@N with every sample judged, on three MiniF2F-Coq theorems."""
    out = tmp_path_factory.mktemp("eval") / "results.jsonl"
    done = prover("eval", "--prover", "coq", "--benchmark", "minif2f", "--data", str(minif2f_coq),
                  "--split", "test", "--names", "mathd_algebra_125,mathd_numbertheory_3,aime_1983_p1",
                  "--strategy", "pass-at-n", "--n", "8", "--all-samples", "--timeout", "20",
                  "--tactic-timeout", "2", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.coq
def test_report_from_a_real_eval_has_pass_at_k_categories_and_provenance(pass_at_n_results, tmp_path):
    rows = read_rows(pass_at_n_results)
    report = Report.of(rows)
    assert len(rows) == 3 and report.solved == sum(r["status"] == "proved" for r in rows)
    assert set(report.by_category) <= {"mathd", "aime"}
    # pass@k is the mean of each theorem's unbiased curve; pass@N is the share with a proof.
    assert report.pass_at_k_theorems == 3 and max(report.pass_at_k) == 8
    assert report.pass_at_k[8] == pytest.approx(report.solved / 3)
    assert report.pass_at_k[1] <= report.pass_at_k[8]
    assert report.provenance["statement set"] == ["LLM4Rocq/miniF2F-rocq@b60affae5d9b"]
    assert any(v.startswith("8.16") for v in report.provenance["version: coq"])

    done = prover("report", str(pass_at_n_results), "--out", str(tmp_path / "report"))
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "report" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and "mathd_algebra_125" in page
    for png in ("pass-k.png", "results-by-category.png", "search.png"):
        assert (tmp_path / "report" / png).read_bytes().startswith(b"\x89PNG")
    summary = (tmp_path / "report" / "report.md").read_text()
    assert f"**{report.solved} / 3 proved" in summary and "| mathd |" in summary


def test_best_first_rows_have_no_pass_at_k_and_torn_lines_are_skipped(tmp_path):
    row = {"name": "imo_1959_p1", "status": "failed", "strategy": "best-first", "prover": "coq",
           "stats": {"expansions": 3, "max_depth": 2, "time_total_s": 1.0}, "config": {},
           "source": "LLM4Rocq/miniF2F-rocq@b60affae5d9b:test/imo_1959_p1.v"}  # fmt: skip
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(row) + "\n" + json.dumps({**row, "name": "x", "status": "proved"})[:30])
    written = write_report(path, tmp_path / "out")
    assert "pass@k" not in written and written["html"].exists()
    assert "**0 / 1 proved" in written["markdown"].read_text()


def test_unusable_files_give_clear_errors(tmp_path):
    with pytest.raises(ReportError, match="no such results file"):
        read_rows(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("not json\n")
    with pytest.raises(ReportError, match="no result rows"):
        read_rows(tmp_path / "empty.jsonl")
    done = prover("report", str(tmp_path / "missing.jsonl"))
    assert done.returncode != 0 and "no such results file" in done.stderr


def test_categories_follow_minif2f_names():
    assert [category(n) for n in ("mathd_algebra_10", "amc12a_2019_p21", "aime_1983_p1",
                                  "imo_1959_p1", "induction_12dvd4expnp1p20")] == [
        "mathd", "amc", "aime", "imo", "other"]  # fmt: skip


def test_eval_no_resume_refuses_an_existing_results_file(tmp_path):
    out = tmp_path / "results.jsonl"
    out.write_text("{}\n")
    done = prover("eval", "--prover", "coq", "--no-resume", "--out", str(out))
    assert done.returncode != 0 and "--resume" in done.stderr
