"""The Coq corpus from the traces of library files: its pairs, its yield, and the splits of the
``coqlib`` benchmark.

``prover trace`` writes one trace per file (``coq_trace``); this module puts them together:

- ``pairs.jsonl``: every (state, tactic) step, with its theorem, file, step index, the proof's
  whole step sequence, and the imports and open scopes it was taken under; ``theorems.jsonl``;
- ``yield.json`` / ``yield.md``: candidates found, replayed and skipped, by reason, per file
  and overall;
- the benchmark manifest (``search/data/coqlib.jsonl.gz`` and ``coqlib.json``): the theorems
  that can be held out, each with its file's digest and its split in both split families.

Splits are deterministic functions of the corpus. ``random`` puts each theorem in train,
valid or test (90/5/5) by a hash of its name; ``novel`` holds out whole files (files in hash
order go to test, then valid, until each has 5% of the theorems), so that no training theorem
shares a file with a held-out one. Training data may come only from a train split:
``pairs-random-train.jsonl`` and ``pairs-novel-train.jsonl`` are written for that.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.coq_trace import FileTrace, TracedTheorem
from search.env.coq_check import coq_version
from search.env.coq_library import LibrarySource
from search.env.coq_syntax import check_statement
from search.types import UnsafeInput

SPLIT_FAMILIES = ("random", "novel")
HELD_OUT_SHARE = 0.05


def _hash(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def random_split(name: str) -> str:
    bucket = _hash(f"random:{name}") % 1000
    return "train" if bucket < 900 else "valid" if bucket < 950 else "test"


def novel_splits(theorems_per_module: dict[str, int]) -> dict[str, str]:
    """Whole files to test, then valid, in hash order, until each holds 5% of the theorems."""
    total = sum(theorems_per_module.values())
    order = sorted(theorems_per_module, key=lambda m: _hash(f"novel:{m}"))
    splits: dict[str, str] = {}
    held = {"test": 0, "valid": 0}
    for module in order:
        split = next((s for s in ("test", "valid") if held[s] < HELD_OUT_SHARE * total), "train")
        if split != "train":
            held[split] += theorems_per_module[module]
        splits[module] = split
    return splits


def exclusion(trace: FileTrace, theorem: TracedTheorem) -> str | None:
    """Why a traced theorem cannot be a benchmark theorem (None when it can)."""
    if not theorem.nameable:
        return "inside a functor or module type"
    if trace.sprop_from is not None and theorem.position > trace.sprop_from:
        return "after a sentence that needs SProp (the judge keeps it off)"
    try:
        check_statement(theorem.statement)
    except UnsafeInput:
        return "statement outside the checker's grammar"
    return None


@dataclass
class Corpus:
    """The traces of a library, with each theorem's name and blocks read again from its file
    by the current reader (so a reader fix applies without tracing again)."""

    traces: list[FileTrace]

    def __post_init__(self) -> None:
        for trace in self.traces:
            source = LibrarySource.read(trace.module)
            for theorem in trace.theorems:
                statement = source.statement_at(theorem.position)
                if statement is None or statement.sentence != theorem.statement:
                    raise ValueError(f"{trace.module} changed since it was traced: trace again")
                theorem.module_path = statement.module_path
                theorem.nameable = statement.nameable
                theorem.id = statement.theorem_name(trace.module)

    def theorems(self) -> Iterable[tuple[FileTrace, TracedTheorem]]:
        for trace in self.traces:
            for theorem in trace.theorems:
                yield trace, theorem

    def benchmark_counts(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for trace, theorem in self.theorems():
            if exclusion(trace, theorem) is None:
                counts[trace.module] += 1
        return {t.module: counts[t.module] for t in self.traces}

    def splits(self) -> tuple[dict[str, str], dict[str, str]]:
        """(theorem name → random split, module → novel split)."""
        random = {theorem.id: random_split(theorem.id) for _, theorem in self.theorems()}
        # Files without benchmark theorems (functors only) hold nothing out: train.
        counts = {m: n for m, n in self.benchmark_counts().items() if n}
        return random, novel_splits(counts)


#: Lemmas the reader finds that are not candidates: no tactic proof closed by ``Qed`` or
#: ``Defined`` (a proof term, a body, an admitted or aborted proof).
NOT_CANDIDATES = frozenset(
    {"proved by a term (Proof t.)", "no proof opened", "ends with Admitted", "ends with Abort"}
)


def candidates(trace: FileTrace) -> int:
    """Lemmas of the file with a tactic proof closed by ``Qed``/``Defined``: the yield's base."""
    reasons = trace.reasons()
    return trace.candidates - sum(reasons[r] for r in NOT_CANDIDATES)


def yield_report(traces: list[FileTrace]) -> dict[str, Any]:
    """Candidates found, replayed and skipped by reason, overall and per file. Lemmas proved
    without a tactic script are counted apart, not as candidates."""
    reasons: Counter[str] = Counter()
    files = []
    for trace in traces:
        reasons.update(trace.reasons())
        files.append(
            {
                "module": trace.module,
                "lemmas": trace.candidates,
                "candidates": candidates(trace),
                "replayed": len(trace.theorems),
                "steps": sum(len(t.steps) for t in trace.theorems),
                "skipped": dict(trace.reasons()),
                "stopped": trace.stopped,
                "seconds": trace.seconds,
            }
        )
    found = sum(f["candidates"] for f in files)
    replayed = sum(len(t.theorems) for t in traces)
    return {
        "files": len(traces),
        "files_stopped": sum(t.stopped is not None for t in traces),
        "lemmas": sum(t.candidates for t in traces),
        "candidates": found,
        "replayed": replayed,
        "yield": round(replayed / found, 4) if found else 0.0,
        "steps": sum(f["steps"] for f in files),
        "unreadable_steps": sum(t.unreadable_steps for t in traces),
        "not_candidates": {r: n for r, n in reasons.most_common() if r in NOT_CANDIDATES},
        "skipped": {r: n for r, n in reasons.most_common() if r not in NOT_CANDIDATES},
        "seconds": round(sum(t.seconds for t in traces), 1),
        "per_file": files,
    }


def yield_markdown(report: dict[str, Any], machine: str) -> str:
    lines = [
        "# Coq corpus: yield",
        "",
        f"- {report['files']} files ({report['files_stopped']} stopped early), {machine}",
        f"- lemmas found {report['lemmas']}; candidates (a tactic proof closed by Qed or "
        f"Defined) {report['candidates']}; replayed {report['replayed']} "
        f"({100 * report['yield']:.1f}%); steps {report['steps']} (and "
        f"{report['unreadable_steps']} steps whose goals Show could not print, left out)",
        f"- tracing time, summed over files: {report['seconds']} s",
        "",
        "| not candidates | lemmas |",
        "|---|---|",
        *(f"| {reason} | {count} |" for reason, count in report["not_candidates"].items()),
        "",
        "| candidates skipped because | lemmas |",
        "|---|---|",
        *(f"| {reason} | {count} |" for reason, count in report["skipped"].items()),
        "",
        "| file | lemmas | candidates | replayed | steps | s | stopped |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {f['module']} | {f['lemmas']} | {f['candidates']} | {f['replayed']} | "
            f"{f['steps']} | {f['seconds']} | {(f['stopped'] or '')[:80]} |"
            for f in report["per_file"]
        ),
    ]
    return "\n".join(lines) + "\n"


def pair_rows(corpus: Corpus) -> Iterable[dict[str, Any]]:
    random, novel = corpus.splits()
    for trace, theorem in corpus.theorems():
        for index, (state, tactic) in enumerate(theorem.steps):
            yield {
                "state": state,
                "tactic": tactic,
                "theorem": theorem.id,
                "file": theorem.module,
                "step": index,
                "proof": theorem.proof,
                "imports": theorem.imports,
                "scopes": theorem.scopes,
                "random": random[theorem.id],
                "novel": novel.get(trace.module, "train"),
            }


def library_versions() -> dict[str, str | None]:
    """Coq's version and the Debian package versions of the libraries traced."""
    versions: dict[str, str | None] = {"coq": coq_version()}
    for package in ("libcoq-stdlib", "libcoq-coquelicot"):
        try:
            out = subprocess.run(
                ["dpkg-query", "-W", "-f", "${Version}", package],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            versions[package] = out.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            versions[package] = None
    return versions


def write_corpus(corpus: Corpus, out: Path, machine: str) -> dict[str, Any]:
    """pairs, theorems, the train-only pair files and the yield report, into ``out``."""
    report = yield_report(corpus.traces)
    (out / "yield.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "yield.md").write_text(yield_markdown(report, machine))
    with (
        (out / "pairs.jsonl").open("w") as every,
        (out / "pairs-random-train.jsonl").open("w") as random_train,
        (out / "pairs-novel-train.jsonl").open("w") as novel_train,
    ):
        for row in pair_rows(corpus):
            line = json.dumps(row, ensure_ascii=False) + "\n"
            every.write(line)
            if row["random"] == "train":
                random_train.write(line)
            if row["novel"] == "train":
                novel_train.write(line)
    with (out / "theorems.jsonl").open("w") as sink:
        for _, theorem in corpus.theorems():
            row = {k: v for k, v in theorem.__dict__.items() if k != "steps"}
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    return report


def write_manifest(corpus: Corpus, manifest: Path) -> dict[str, Any]:
    """The benchmark's theorems with their splits (gzipped JSONL) and its summary (JSON)."""
    random, novel = corpus.splits()
    rows = []
    excluded: Counter[str] = Counter()
    for trace, theorem in corpus.theorems():
        reason = exclusion(trace, theorem)
        if reason is not None:
            excluded[reason] += 1
            continue
        rows.append(
            {
                "name": theorem.id,
                "module": theorem.module,
                "position": theorem.position,
                "digest": trace.digest,
                "statement": theorem.statement,
                "random": random[theorem.id],
                "novel": novel.get(trace.module, "train"),
                "steps": len(theorem.steps),
                "using": theorem.section_variables,
            }
        )
    manifest.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same corpus gives the same bytes, so a regenerated manifest diffs clean.
    with (
        gzip.GzipFile(manifest.with_suffix(".jsonl.gz"), "wb", mtime=0) as packed,
        io.TextIOWrapper(packed, encoding="utf-8") as sink,
    ):
        sink.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    counts = {
        family: dict(sorted(Counter(row[family] for row in rows).items()))
        for family in SPLIT_FAMILIES
    }
    summary = {
        "benchmark": "coqlib",
        "versions": library_versions(),
        "theorems": len(rows),
        "splits": counts,
        "novel_test_files": sorted(m for m, s in novel.items() if s == "test"),
        "novel_valid_files": sorted(m for m, s in novel.items() if s == "valid"),
        "excluded": dict(excluded.most_common()),
        "files": {t.module: t.digest for t in corpus.traces},
        "rules": {
            "random": "sha256('random:'+name) mod 1000: < 900 train, < 950 valid, else test",
            "novel": "files in sha256('novel:'+module) order to test, then valid, until each "
            "holds 5% of the theorems; the rest train",
        },
    }
    manifest.with_suffix(".json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary
