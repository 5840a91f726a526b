"""A short soak of the real `premortem watch` (bench/bench_soak.py, 24 minutes of the site in
one real minute): every injected outage is one incident, opened and resolved once, through
log rotations, a hanging webhook receiver, SIGTERM and SIGKILL restarts with the incident
open and (as root) the store's disk full; nothing lost, nothing recorded twice.

The full soak (2 h simulated, with the RSS bar) is `make bench-soak`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# The harness runs its own HTTP server (Python's) on 127.0.0.1 for watch to probe, and the
# test lasts a minute: it runs with the lab tests, not in the quick unit run.
pytestmark = pytest.mark.lab

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_soak.py"


@pytest.fixture(scope="module")
def soak() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--hours", "0.4", "--outages", "4", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_every_outage_is_one_incident_and_every_event_is_stored_once(
    soak: dict[str, object],
) -> None:
    assert soak["problems"] == [], soak["watch_said"]
    assert soak["outages_injected"] == 4
    assert soak["incidents_stored"] == 4
    events = soak["events_stored"]
    assert isinstance(events, dict)
    assert events["incident.open"] == events["incident.resolved"] == 4
    # Three watch processes: the first stopped by SIGTERM, the second killed.
    assert events["watch.start"] == 3
    assert events["watch.stop"] == 2


def test_the_disruptions_were_really_injected(soak: dict[str, object]) -> None:
    outages = soak["outages"]
    assert isinstance(outages, list)
    assert any("SIGTERM" in o for o in outages) and any("SIGKILL" in o for o in outages)
    assert soak["rotations"] == {"rename": 3, "copytruncate": 1, "truncate": 1}
    log_lines = soak["log_lines"]
    assert isinstance(log_lines, int) and log_lines > 20_000
    if os.geteuid() == 0:
        assert "disk full" in outages[3]
        assert soak["state_disk"] == "4 MB tmpfs"
