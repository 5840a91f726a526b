"""What a broken lab answers: the scenario's page (its `broken_path`) with its status, and
for a fault of some pages only, the home page still working."""

from __future__ import annotations

import httpx

from premortem.ops.lab import Lab
from premortem.ops.lab.scenarios import Scenario


def broken_answer(lab: Lab, scenario: Scenario, status: int) -> httpx.Response:
    answer = lab.get(scenario.broken_path, timeout=10)
    assert answer.status_code == status, answer.text[:300]
    if scenario.broken_path != "/":  # a fault of some pages only: the rest still works
        assert lab.get("/", timeout=10).status_code == 200
    return answer
