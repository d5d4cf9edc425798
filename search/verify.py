"""A candidate proof judged during a search, the same way in best-first and pass@N.

The check is timed and counted in the search's statistics; a prover fault during it rejects
the candidate (and is counted) rather than ending the search.
"""

from __future__ import annotations

import time

from search.env.base import ProofSession
from search.result import SearchStats
from search.types import ProverFault, Verdict


def book_opening(session: ProofSession, asked: float, stats: SearchStats) -> float:
    """Book a session's opening, asked for at ``asked``: the wait for a prover process as
    ``time_waiting_s`` and the load as prover time. Returns the wait, by which the search
    moves its deadline (``ProofSession.opened_at``)."""
    waited = session.opened_at - asked
    stats.time_waiting_s += waited
    stats.time_prover_s += time.monotonic() - session.opened_at
    return waited


async def verify_candidate(session: ProofSession, proof: str, stats: SearchStats) -> Verdict:
    """The whole-proof check of ``proof`` on ``session``, accounted in ``stats``."""
    started = time.monotonic()
    try:
        return await session.verify(proof)
    except ProverFault as fault:
        stats.prover_faults += 1
        return Verdict(False, f"{type(fault).__name__}: {fault}", fault=True)
    finally:
        stats.time_check_s += time.monotonic() - started
        stats.candidates_checked += 1
