"""The text a tokenizer learns from: the states and tactics of (state, tactic) JSONL files.

Only the files given are read (a corpus's train split), so a tokenizer learnt here has seen no
held-out theorem.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prover.data import DataError, jsonl_rows


class CorpusTextError(ValueError):
    """A corpus file is missing, or holds no (state, tactic) rows."""


def corpus_texts(paths: Sequence[Path], limit: int) -> list[str]:
    """States and tactics of the first ``limit`` rows over ``paths``, in order."""
    if limit < 1:
        raise CorpusTextError(f"--max-texts must be at least 1, not {limit}")
    texts: list[str] = []
    for path in paths:
        if not path.is_file():
            raise CorpusTextError(f"{path}: no such file")
        try:
            for where, row in jsonl_rows(path):
                if len(texts) >= 2 * limit:
                    return texts
                if not isinstance(row.get("tactic"), str):
                    raise CorpusTextError(f"{where}: not a (state, tactic) row")
                texts += [str(row.get("state", "")), row["tactic"]]
        except DataError as exc:
            raise CorpusTextError(str(exc)) from None
    if not texts:
        raise CorpusTextError(f"{', '.join(map(str, paths))}: no (state, tactic) rows")
    return texts
