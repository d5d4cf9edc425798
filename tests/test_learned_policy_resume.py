"""The learned-policy benchmark's progress file: a finished method run is read back only when
everything that decides its result is the same, and a half-written last line loses nothing
else (the run was killed while writing it)."""

from __future__ import annotations

import json
from dataclasses import asdict

from benchmarks.learned_policy import (
    append_progress,
    bench,
    load_progress,
    method_run,
    policy_weights,
    run_key,
    tree_hash,
)


def a_run(status: str = "proved") -> bench.MethodRun:
    row = bench.Row(name="Coq.Bool.Bool:negb_involutive", status=status, wall_s=0.4,
                    proof="destruct b; reflexivity.", message="", stats={"expansions": 1})  # fmt: skip
    return bench.MethodRun(method="ce", config={"wall_timeout_s": 10.0}, rows=[row], wall_s=0.4)


def test_a_run_reads_back_as_it_was_written_and_a_torn_last_line_is_skipped(tmp_path):
    progress = tmp_path / "learned.runs.jsonl"
    record = {"key": "k1", "set": "coqlib test", "method": "ce", "date": "2026-12-03T14:00:00",
              "run": asdict(a_run())}  # fmt: skip
    progress.write_text(json.dumps(record) + "\n" + json.dumps(record)[:40])
    done = load_progress(progress)
    assert list(done) == ["k1"]
    back = method_run(done["k1"])
    assert back == a_run() and back.solved == {"Coq.Bool.Bool:negb_involutive"}


def test_the_key_changes_with_the_weights_and_the_settings_not_with_key_order(tmp_path):
    model = tmp_path / "ce"
    model.mkdir()
    (model / "model.safetensors").write_bytes(b"one")
    spec = {"name": "transformers", "model": str(model)}
    identity = {"method": "ce", "policy": spec, "search": {"wall_timeout_s": 10.0}}
    before = run_key({**identity, "weights": policy_weights(spec)})
    assert before == run_key(
        dict(reversed(list({**identity, "weights": policy_weights(spec)}.items())))
    )
    (model / "model.safetensors").write_bytes(b"two")  # retrained: another model
    assert run_key({**identity, "weights": policy_weights(spec)}) != before
    assert run_key({**identity, "search": {"wall_timeout_s": 20.0},
                    "weights": policy_weights(spec)}) != before  # fmt: skip


def test_an_ensemble_is_keyed_by_every_member(tmp_path):
    paths = []
    for name in ("dco4", "dco16"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.safetensors").write_bytes(name.encode())
        paths.append(str(tmp_path / name))
    assert set(policy_weights({"name": "ensemble", "model": ",".join(paths)})) == set(paths)
    assert policy_weights({"name": "automation"}) == {}


def test_a_record_appended_after_a_torn_line_is_kept(tmp_path):
    progress = tmp_path / "learned.runs.jsonl"
    first = {"key": "k1", "date": "d", "run": asdict(a_run())}
    progress.write_text(json.dumps(first) + "\n" + json.dumps(first)[:40])  # killed mid-write
    append_progress(progress, {**first, "key": "k2"})
    assert sorted(load_progress(progress)) == ["k1", "k2"]


def test_a_run_with_error_rows_is_searched_again_and_an_old_schema_is_not_read_back(tmp_path):
    progress = tmp_path / "learned.runs.jsonl"
    append_progress(progress, {"key": "crashed", "date": "d", "run": asdict(a_run("error"))})
    assert load_progress(progress) == {}
    old = asdict(a_run())
    old["rows"][0]["a_field_since_removed"] = 1
    assert method_run({"key": "k", "run": old}) is None


def test_the_code_hash_follows_contents_not_caches(tmp_path, monkeypatch):
    import benchmarks.learned_policy as module

    monkeypatch.setattr(module, "_ROOT", tmp_path)
    (tmp_path / "search").mkdir()
    (tmp_path / "search" / "best_first.py").write_text("WIDEN = 64\n")
    before = tree_hash(tmp_path / "search")
    (tmp_path / "search" / "__pycache__").mkdir()
    (tmp_path / "search" / "__pycache__" / "best_first.pyc").write_bytes(b"cache")
    assert tree_hash(tmp_path / "search") == before
    (tmp_path / "search" / "best_first.py").write_text("WIDEN = 32\n")
    assert tree_hash(tmp_path / "search") != before
