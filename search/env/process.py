"""What every prover subprocess needs: its own process group and a memory cap.

Prover processes run untrusted tactics; a tactic that allocates without bound must kill its
own process (``RLIMIT_AS``) and not the machine, and a process we give up on is killed with
its whole group (``lake env repl`` and ``coqtop`` may start children).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal


def memory_limiter(limit_bytes: int):
    """A ``preexec_fn`` that caps the child's address space, so a runaway tactic dies alone."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return apply


def kill_group(proc: asyncio.subprocess.Process | None) -> None:
    """SIGKILL the process group of ``proc`` (started with ``start_new_session=True``)."""
    if proc is not None and proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
