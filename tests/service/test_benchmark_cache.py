"""The API loads a benchmark once; a failed load is answered from memory for a while, so a
dead network is not hit again by every request."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import HTTPException

from api.deps import benchmark_theorems
from search.types import ProverKind


def request_for(data) -> SimpleNamespace:
    state = SimpleNamespace(benchmarks={}, benchmark_failures={},
                            settings=SimpleNamespace(data={ProverKind.COQ: data}))  # fmt: skip
    return SimpleNamespace(app=SimpleNamespace(state=state))


async def test_a_failed_load_is_not_retried_per_request(tmp_path, minif2f_coq):
    data = tmp_path / "minif2f-coq.jsonl"
    request = request_for(data)
    with pytest.raises(HTTPException) as first:
        await benchmark_theorems(request, ProverKind.COQ)
    assert first.value.status_code == 503 and "no such file" in first.value.detail
    data.write_bytes(minif2f_coq.read_bytes())  # the data appears, but within the retry window
    with pytest.raises(HTTPException) as second:
        await benchmark_theorems(request, ProverKind.COQ)
    assert second.value.detail == first.value.detail
    request.app.state.benchmark_failures.clear()  # the window has passed
    assert len(await benchmark_theorems(request, ProverKind.COQ)) == 488
