"""``prover report``: the evaluation report users read, from ``prover eval``'s JSONL rows.

It writes a self-contained HTML page (plots embedded), the plots as PNG files, and a Markdown
summary. Every number is computed from the rows, and the page says what produced them: the
search config, the policy, the prover versions and the statement set's commit (all recorded in
each row), so a published figure can be traced and reproduced.

pass@k is the unbiased estimator averaged over theorems, and only from rows that judged every
sample (``prover eval --strategy pass-at-n --all-samples``); with early stop the samples after
the first proof are not judged and pass@k for k > 1 is not defined.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a display
import matplotlib.pyplot as plt

#: MiniF2F's problem sources, from the theorem name's prefix.
CATEGORIES = (("mathd", "mathd"), ("amc", "amc"), ("aime", "aime"), ("imo", "imo"))
STATUSES = ("proved", "failed", "timeout", "error")
_SOURCE_COMMIT = re.compile(r"^(?P<repo>[^@]+)@(?P<commit>[0-9a-f]+):")


class ReportError(ValueError):
    """The results file cannot be reported on; the message says why."""


def category(name: str) -> str:
    for prefix, label in CATEGORIES:
        if name.startswith(prefix):
            return label
    return "other"


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a results file; a torn last line (a killed run) is skipped."""
    if not path.is_file():
        raise ReportError(f"{path}: no such results file")
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "name" in row and "status" in row:
            rows.append(row)
    if not rows:
        raise ReportError(f"{path}: no result rows (is it a `prover eval --out` file?)")
    return rows


@dataclass
class Report:
    """Everything the page shows, computed once from the rows."""

    rows: list[dict[str, Any]]
    statuses: Counter = field(default_factory=Counter)
    by_category: dict[str, Counter] = field(default_factory=dict)
    pass_at_k: dict[int, float] = field(default_factory=dict)
    pass_at_k_theorems: int = 0
    provenance: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: list[dict[str, Any]]) -> Report:
        report = cls(rows=rows)
        report.statuses = Counter(row["status"] for row in rows)
        by_category: dict[str, Counter] = defaultdict(Counter)
        for row in rows:
            by_category[category(row["name"])][row["status"]] += 1
        report.by_category = dict(sorted(by_category.items()))
        report.pass_at_k, report.pass_at_k_theorems = mean_pass_at_k(rows)
        report.provenance = provenance(rows)
        return report

    @property
    def solved(self) -> int:
        return self.statuses["proved"]

    def stat(self, key: str) -> list[float]:
        return [float(row.get("stats", {}).get(key, 0.0)) for row in self.rows]


def mean_pass_at_k(rows: list[dict[str, Any]]) -> tuple[dict[int, float], int]:
    """pass@k averaged over the theorems whose every sample was judged, for the k all share."""
    curves = [
        {int(k): v for k, v in row["pass_at_k"].items()} for row in rows if row.get("pass_at_k")
    ]
    if not curves:
        return {}, 0
    shared = set.intersection(*(set(c) for c in curves))
    return {k: statistics.fmean(c[k] for c in curves) for k in sorted(shared)}, len(curves)


def provenance(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each distinct value of what decides a result: config, policy, versions, statement set."""
    seen: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        seen["policy"].add(str(row.get("policy")))
        seen["strategy"].add(str(row.get("strategy")))
        seen["prover"].add(str(row.get("prover")))
        seen["config"].add(json.dumps(row.get("config"), sort_keys=True))
        for key, value in (row.get("versions") or {}).items():
            seen[f"version: {key}"].add(str(value))
        match = _SOURCE_COMMIT.match(row.get("source") or "")
        seen["statement set"].add(f"{match['repo']}@{match['commit']}" if match else "unknown")
    return {key: sorted(values) for key, values in sorted(seen.items())}


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def plot_pass_at_k(report: Report) -> bytes | None:
    if not report.pass_at_k:
        return None
    figure, axis = plt.subplots(figsize=(6, 4))
    ks = list(report.pass_at_k)
    axis.plot(ks, [report.pass_at_k[k] for k in ks], marker="o" if len(ks) < 40 else None)
    axis.set_xscale("log", base=2)
    axis.set_xlabel("k (samples)")
    axis.set_ylabel("pass@k (unbiased, mean over theorems)")
    axis.set_ylim(0, 1)
    axis.set_title(f"pass@k over {report.pass_at_k_theorems} theorems")
    axis.grid(alpha=0.3)
    return _png(figure)


def plot_categories(report: Report) -> bytes:
    figure, axis = plt.subplots(figsize=(6, 4))
    labels = list(report.by_category)
    bottom = [0] * len(labels)
    for status in STATUSES:
        counts = [report.by_category[label][status] for label in labels]
        axis.bar(labels, counts, bottom=bottom, label=status)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    axis.set_ylabel("theorems")
    axis.set_title("results by category")
    axis.legend()
    return _png(figure)


def plot_search(report: Report) -> bytes:
    """Expansions and depth per theorem, and where the time went (all rows summed)."""
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    axes[0].hist(report.stat("expansions"), bins=20)
    axes[0].set_title("expansions per theorem")
    depths = report.stat("max_depth")
    axes[1].hist(depths, bins=range(0, int(max(depths, default=0)) + 2))
    axes[1].set_title("deepest state per theorem")
    split = {
        "prover": sum(report.stat("time_prover_s")),
        "policy": sum(report.stat("time_policy_s")),
        "check": sum(report.stat("time_check_s")),
        "waiting for a prover": sum(report.stat("time_waiting_s")),
    }
    split["search (ours)"] = max(0.0, sum(report.stat("time_total_s")) - sum(split.values()))
    axes[2].bar(list(split), list(split.values()))
    axes[2].set_title("time split (s, all theorems)")
    return _png(figure)


def markdown(report: Report) -> str:
    total = len(report.rows)
    lines = [
        "# Evaluation report",
        "",
        f"**{report.solved} / {total} proved ({report.solved / total:.1%})**; "
        + ", ".join(f"{s} {report.statuses[s]}" for s in STATUSES if report.statuses[s]),
        "",
        "| category | proved | total | rate |",
        "|---|---:|---:|---:|",
    ]
    for label, counts in report.by_category.items():
        n = sum(counts.values())
        lines.append(f"| {label} | {counts['proved']} | {n} | {counts['proved'] / n:.1%} |")
    if report.pass_at_k:
        shown = [k for k in report.pass_at_k if k & (k - 1) == 0 or k == max(report.pass_at_k)]
        lines += ["", f"pass@k (unbiased, mean over {report.pass_at_k_theorems} theorems):", ""]
        lines += ["| k | " + " | ".join(map(str, shown)) + " |"]
        lines += ["|---|" + "---:|" * len(shown)]
        lines += ["| pass@k | " + " | ".join(f"{report.pass_at_k[k]:.3f}" for k in shown) + " |"]
    lines += ["", "## Provenance", ""]
    for key, values in report.provenance.items():
        lines.append(f"- **{key}**: " + "; ".join(f"`{v}`" for v in values))
    return "\n".join(lines) + "\n"


def render_html(report: Report, images: dict[str, bytes]) -> str:
    figures = "".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"><figcaption>{html.escape(name)}</figcaption></figure>'
        for name, png in images.items()
    )
    rows = "".join(
        f"<tr><td>{html.escape(r['name'])}</td><td>{html.escape(r['status'])}</td>"
        f"<td>{r.get('stats', {}).get('expansions', 0)}</td>"
        f"<td>{r.get('stats', {}).get('time_total_s', 0):.1f}</td>"
        f"<td><pre>{html.escape(r.get('proof') or r.get('message') or '')}</pre></td></tr>"
        for r in sorted(report.rows, key=lambda r: r["name"])
    )
    summary = html.escape(markdown(report))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>dcoprover report</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "pre{white-space:pre-wrap;margin:0}td{border-top:1px solid #ddd;vertical-align:top}"
        "img{max-width:100%}</style></head><body>"
        f"<h1>dcoprover evaluation report</h1><pre>{summary}</pre>{figures}"
        "<h2>Theorems</h2><table><tr><th>theorem</th><th>status</th><th>expansions</th>"
        f"<th>time (s)</th><th>proof or reason</th></tr>{rows}</table></body></html>"
    )


def write_report(results: Path, out_dir: Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.md`` and the PNG plots into ``out_dir``."""
    report = Report.of(read_rows(results))
    out_dir.mkdir(parents=True, exist_ok=True)
    images = {"results by category": plot_categories(report), "search": plot_search(report)}
    curve = plot_pass_at_k(report)
    if curve is not None:
        images = {"pass@k": curve, **images}
    written = {}
    for name, png in images.items():
        path = out_dir / (re.sub(r"\W+", "-", name).strip("-") + ".png")
        path.write_bytes(png)
        written[name] = path
    written["markdown"] = out_dir / "report.md"
    written["markdown"].write_text(markdown(report))
    written["html"] = out_dir / "report.html"
    written["html"].write_text(render_html(report, images))
    return written
