"""What machine a measurement ran on: timings and yields mean little without it."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """Cores, CPU model, platform and the load average when the measurement started."""
    model = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu": model or "unknown",
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
    }


def describe(facts: dict[str, Any]) -> str:
    """``machine()`` in words: "2 cores, AMD EPYC"."""
    return f"{facts['cores']} cores, {facts['cpu']}"
