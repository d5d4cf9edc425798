"""The text a tokenizer learns from: the states and tactics of (state, tactic) JSONL files.

Only the files given are read (a corpus's train split), so a tokenizer learnt here has seen no
held-out theorem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


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
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if len(texts) >= 2 * limit:
                    return texts
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusTextError(f"{path}:{number}: not JSON ({exc.msg})") from None
                if not isinstance(row, dict) or not isinstance(row.get("tactic"), str):
                    raise CorpusTextError(f"{path}:{number}: not a (state, tactic) row")
                texts += [str(row.get("state", "")), row["tactic"]]
    if not texts:
        raise CorpusTextError(f"{', '.join(map(str, paths))}: no (state, tactic) rows")
    return texts
