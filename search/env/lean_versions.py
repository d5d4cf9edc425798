"""The Lean version pins (``lean_versions.env``), for Python.

The same file is sourced by ``scripts/setup_lean.sh`` and the worker image, so the toolchain,
the REPL tag and the MiniF2F commit that the code, the setup and the benchmark loader assume
can never drift apart.
"""

from __future__ import annotations

import functools
from pathlib import Path

PINS_FILE = Path(__file__).with_name("lean_versions.env")


@functools.cache
def lean_pins() -> dict[str, str]:
    """``KEY=VALUE`` lines of the pins file (comments and blanks skipped)."""
    pins = {}
    for line in PINS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pins[key.strip()] = value.strip()
    return pins
