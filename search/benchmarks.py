"""Benchmark statement sets: MiniF2F for Coq (LLM4Rocq/miniF2F-rocq) and Lean 4, and
``coqlib``, theorems of the installed Coq libraries held out in their own files' contexts.

Without ``--data``, the statements shipped with dcoprover are read (``search/data``, the
pinned commits below), so the main job needs no network. ``--data`` takes a JSONL file (fields
``name``, ``split``, ``header``, ``formal_statement``, ``source``), a checkout of the
benchmark's repository, or ``github`` / ``github@COMMIT``: the repository downloaded once, at
the pinned or the named commit, into a cache directory (``$DCOPROVER_CACHE`` or
``~/.cache/dcoprover``).
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import os
import re
import tarfile
import urllib.request
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from search.env.lean_versions import lean_pins
from search.types import LibraryRef, ProverKind, Theorem


@dataclass(frozen=True)
class BenchmarkSource:
    """Where a benchmark's statements come from, pinned to one commit."""

    repository: str
    commit: str

    @property
    def archive_url(self) -> str:
        return f"https://github.com/{self.repository}/archive/{self.commit}.tar.gz"


MINIF2F_SOURCES = {
    ProverKind.COQ: BenchmarkSource("LLM4Rocq/miniF2F-rocq", "b60affae5d9b"),
    ProverKind.LEAN: BenchmarkSource(
        lean_pins()["MINIF2F_REPO"].removeprefix("https://github.com/"), lean_pins()["MINIF2F_REV"]
    ),
}
#: The statements shipped with the package, one JSONL file per prover (``search/data``).
EMBEDDED = {ProverKind.COQ: "minif2f-coq.jsonl", ProverKind.LEAN: "minif2f-lean4.jsonl"}
#: ``--data github`` downloads the pinned commit; ``--data github@COMMIT`` another one.
DOWNLOAD = re.compile(r"github(?:@(?P<commit>[0-9a-f]{7,40}))?")
SPLITS = ("test", "valid")
BENCHMARKS = ("minif2f", "coqlib")
#: ``coqlib``'s splits: random (90/5/5 by theorem) and novel (whole files held out).
COQLIB_SPLITS = ("train", "valid", "test", "novel-train", "novel-valid", "novel-test")
#: The ``coqlib`` manifest shipped with the package (``prover corpus-splits`` writes it).
COQLIB_MANIFEST = "coqlib.jsonl.gz"
_LEAN_DECL = re.compile(r"^(?:theorem|lemma)\s+([^\s(:{\[]+)", re.M)
_LEAN_SPLITS = {"test": "Test", "valid": "Valid"}
_COQ_DECL = re.compile(
    r"^(Theorem|Lemma|Fact|Remark|Corollary|Proposition|Example)\s+([A-Za-z_][\w']*)", re.M
)


class BenchmarkError(ValueError):
    """The benchmark data cannot be read; the message says what to fix."""


def cache_dir() -> Path:
    return Path(os.environ.get("DCOPROVER_CACHE", Path.home() / ".cache" / "dcoprover"))


def theorem_from_row(row: dict, prover: ProverKind) -> Theorem:
    """A ``Theorem`` from one JSONL row of the shared format."""
    try:
        return Theorem(
            name=row["name"],
            header=row.get("header", ""),
            statement=row["formal_statement"],
            prover=prover,
            split=row.get("split"),
            source=row.get("source"),
        )
    except KeyError as exc:
        raise BenchmarkError(f"benchmark row lacks the field {exc}: {str(row)[:120]}") from None


def read_jsonl(path: Path, prover: ProverKind, include_unsupported: bool) -> list[Theorem]:
    theorems = []
    with path.open() as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BenchmarkError(f"{path}:{number}: not JSON ({exc.msg})") from None
            # Rows marked as rejected by Coq 8.16 (coq816_ok: false) cannot be stated here.
            if (
                prover is ProverKind.COQ
                and row.get("coq816_ok") is False
                and not include_unsupported
            ):
                continue
            theorems.append(theorem_from_row(row, prover))
    return theorems


def parse_coq_file(text: str, split: str, source: str) -> Theorem:
    """Split a miniF2F-rocq ``.v`` file into header and statement (its proof is dropped)."""
    text = text.replace("From Stdlib", "From Coq")
    match = _COQ_DECL.search(text)
    if match is None:
        raise BenchmarkError(f"{source}: no Theorem/Lemma declaration found")
    proof = re.search(r"^\s*Proof\.", text[match.start() :], re.M)
    end = match.start() + proof.start() if proof else len(text)
    return Theorem(
        name=match.group(2),
        header=text[: match.start()].strip() + "\n",
        statement=text[match.start() : end].strip(),
        prover=ProverKind.COQ,
        split=split,
        source=source,
    )


def read_coq_checkout(root: Path, source: BenchmarkSource) -> list[Theorem]:
    theorems = []
    for split in SPLITS:
        for path in sorted((root / split).glob("*.v")):
            origin = f"{source.repository}@{source.commit}:{split}/{path.name}"
            theorems.append(parse_coq_file(path.read_text(), split, origin))
    if not theorems:
        raise BenchmarkError(
            f"{root}: no test/*.v or valid/*.v files; is this a miniF2F-rocq checkout?"
        )
    return theorems


def parse_lean_file(text: str, split: str, source: str) -> Theorem:
    """Split a miniF2F-lean4 file (header, then ``theorem ... := by sorry``) into header and
    statement (ending in ``:= by``)."""
    match = _LEAN_DECL.search(text)
    if match is None:
        raise BenchmarkError(f"{source}: no theorem declaration found")
    statement = re.sub(r"\s*sorry\s*$", "", text[match.start() :].rstrip())
    if not statement.endswith(":= by"):
        raise BenchmarkError(f"{source}: the statement does not end with ':= by sorry'")
    return Theorem(
        name=match.group(1),
        header=text[: match.start()].strip() + "\n",
        statement=statement,
        prover=ProverKind.LEAN,
        split=split,
        source=source,
    )


def read_lean_checkout(root: Path, source: BenchmarkSource) -> list[Theorem]:
    theorems = []
    for split, folder in _LEAN_SPLITS.items():
        for path in sorted((root / "MiniF2F" / folder).glob("*.lean")):
            origin = f"{source.repository}@{source.commit}:MiniF2F/{folder}/{path.name}"
            theorems.append(parse_lean_file(path.read_text(), split, origin))
    if not theorems:
        raise BenchmarkError(
            f"{root}: no MiniF2F/Test/*.lean or MiniF2F/Valid/*.lean files; "
            "is this a miniF2F-lean4 checkout?"
        )
    return theorems


def download(source: BenchmarkSource, url: str | None = None) -> Path:
    """Fetch and unpack the pinned commit once (from ``url``, default GitHub's archive of it);
    later calls reuse the cache."""
    target = cache_dir() / f"{source.repository.replace('/', '__')}-{source.commit}"
    if target.exists():
        return target
    try:
        with urllib.request.urlopen(url or source.archive_url, timeout=60) as response:
            payload = response.read()
    except OSError as exc:
        raise BenchmarkError(
            f"cannot download {source.archive_url} ({exc}); leave out --data for the "
            "statements shipped with dcoprover, or pass a JSONL file or a checkout"
        ) from None
    partial = target.with_suffix(".partial")
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        archive.extractall(partial, filter="data")
    (inner,) = partial.iterdir()
    inner.rename(target)
    partial.rmdir()
    return target


def load_minif2f(
    prover: ProverKind,
    data: Path | None = None,
    split: str | None = None,
    include_unsupported: bool = False,
) -> list[Theorem]:
    """MiniF2F statements for ``prover`` (optionally one split), from ``data`` or the cache."""
    prover = ProverKind(prover)
    source = MINIF2F_SOURCES[prover]
    if data is None:
        with resources.as_file(resources.files("search.data") / EMBEDDED[prover]) as embedded:
            return _select(read_jsonl(embedded, prover, include_unsupported), split)
    wanted = DOWNLOAD.fullmatch(str(data))
    if wanted:
        source = replace(source, commit=wanted["commit"] or source.commit)
        data = download(source)
    if not data.exists():
        raise BenchmarkError(f"{data}: no such file or directory")
    if data.is_file():
        theorems = read_jsonl(data, prover, include_unsupported)
    elif prover is ProverKind.COQ:
        theorems = read_coq_checkout(data, source)
    else:
        theorems = read_lean_checkout(data, source)
    return _select(theorems, split)


def _select(theorems: list[Theorem], split: str | None) -> list[Theorem]:
    if split is None:
        return theorems
    if split not in SPLITS:
        raise BenchmarkError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return [t for t in theorems if t.split == split]


def find_theorem(theorems: list[Theorem], name: str) -> Theorem:
    for theorem in theorems:
        if theorem.name == name:
            return theorem
    raise BenchmarkError(f"no theorem named {name!r} in the benchmark")


def load_coqlib(split: str | None = None, manifest: Path | None = None) -> list[Theorem]:
    """``coqlib`` theorems (optionally one split) from the shipped manifest or ``manifest``.
    Each is proved in its file's context, read from the installed library when it is opened
    (``search.env.coq_library``), so a changed installation is a clear error, not a silent
    change of benchmark."""
    if split is not None and split not in COQLIB_SPLITS:
        raise BenchmarkError(
            f"unknown coqlib split {split!r}; choose one of {', '.join(COQLIB_SPLITS)}"
        )
    if manifest is None:
        with resources.as_file(resources.files("search.data") / COQLIB_MANIFEST) as shipped:
            return _coqlib_rows(shipped, split)
    if not manifest.is_file():
        raise BenchmarkError(f"{manifest}: no such coqlib manifest")
    return _coqlib_rows(manifest, split)


def _coqlib_rows(path: Path, split: str | None) -> list[Theorem]:
    family, _, name = (split or "").rpartition("-")
    family = family or "random"
    theorems = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as rows:
            for line in rows:
                row = json.loads(line)
                if split is not None and row[family] != name:
                    continue
                ref = LibraryRef(
                    module=row["module"],
                    position=row["position"],
                    digest=row["digest"],
                    using=row.get("using"),
                )
                theorems.append(
                    Theorem(
                        name=row["name"],
                        statement=row["statement"],
                        split=row["random"],
                        source=ref.where,
                        library=ref,
                    )
                )
    except (OSError, ValueError, KeyError) as exc:
        raise BenchmarkError(f"{path}: not a coqlib manifest ({exc})") from None
    return theorems


@functools.cache
def _shipped_coqlib() -> dict[str, Theorem]:
    return {theorem.name: theorem for theorem in load_coqlib()}


def coqlib_theorem(name: str) -> Theorem:
    """A theorem of the shipped ``coqlib`` manifest by name (raises ``KeyError``)."""
    return _shipped_coqlib()[name]


def load_benchmark(
    benchmark: str,
    prover: ProverKind,
    data: Path | None = None,
    split: str | None = None,
    include_unsupported: bool = False,
) -> list[Theorem]:
    """The theorems of ``benchmark`` (``minif2f`` or ``coqlib``) for ``prover``."""
    if benchmark == "coqlib":
        if ProverKind(prover) is not ProverKind.COQ:
            raise BenchmarkError("coqlib is a Coq benchmark: use --prover coq")
        return load_coqlib(split, data)
    if benchmark != "minif2f":
        raise BenchmarkError(f"unknown benchmark {benchmark!r}; choose one of {BENCHMARKS}")
    return load_minif2f(prover, data, split, include_unsupported)


def spread(theorems: list[Theorem], size: int | None) -> list[Theorem]:
    """``size`` theorems spread evenly (every len/size-th, in order), or all of them: a shorter
    run still covers every part of the library, and every method gets the same ones."""
    if not size or size >= len(theorems):
        return list(theorems)
    step = len(theorems) / size
    return [theorems[int(index * step)] for index in range(size)]


#: The splits training may read (``prover iterate``): the project's held-out sets are
#: MiniF2F-Coq test and coqlib's valid and test splits.
TRAINABLE = {("coqlib", "train"), ("coqlib", "novel-train"), ("minif2f", "valid")}


def theorem_sets(specs: tuple[str, ...] | list[str], prover: ProverKind) -> list[Theorem]:
    """The theorems of ``BENCHMARK:SPLIT[:K]`` specs (K: that many, spread evenly), refusing
    a split that is held out from training."""
    theorems: list[Theorem] = []
    for spec in specs:
        parts = spec.split(":")
        if len(parts) not in (2, 3) or (
            len(parts) == 3 and not re.fullmatch(r"[1-9][0-9]*", parts[2])
        ):
            raise BenchmarkError(
                f"--set {spec!r}: expected BENCHMARK:SPLIT[:K], e.g. coqlib:train:200"
            )
        benchmark, split = parts[0], parts[1]
        if benchmark not in BENCHMARKS:
            raise BenchmarkError(f"--set {spec!r}: unknown benchmark; choose one of {BENCHMARKS}")
        if (benchmark, split) not in TRAINABLE:
            allowed = ", ".join(f"{b}:{s}" for b, s in sorted(TRAINABLE))
            raise BenchmarkError(
                f"--set {spec!r}: {benchmark} {split} is held out from training "
                f"(allowed: {allowed})"
            )
        chosen = load_benchmark(benchmark, prover, None, split)
        theorems += spread(chosen, int(parts[2]) if len(parts) == 3 else None)
    return theorems
