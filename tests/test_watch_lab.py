"""The quality bars of `watch` and `report` on the real lab (Apache + mod_php, MariaDB,
Debian's WordPress on 127.0.0.1), under loopback load:

- `lab break seed` opens an incident within 10 s of the first failed request (measured and
  printed), the diagnosis stored for it names class-wp-locale.phpp;
- the access log rotated during the outage (rename + graceful restart) is followed;
- the watch restarted while the incident is open takes it over, and `lab repair` resolves it;
- the report's failed-request count equals an independent count of the 5xx lines of the
  access log over the report's window (within 1%), and its root cause is the seed's typo.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from premortem.ops.lab import Lab
from premortem.ops.lab import apache as lab_apache
from premortem.store import Incident, open_store

pytestmark = pytest.mark.lab

LOAD_RATE = 3.0  # requests per second: steady traffic a 2-core WordPress lab serves easily
LINE = re.compile(r'^\S+ \S+ \S+ \[([^\]]+)\] "[^"]*" (\d{3}) ')


class Load:
    """Loopback visitors: GET / at a steady rate from a background thread."""

    def __init__(self, url: str, rate: float) -> None:
        self.url = url
        self.rate = rate
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(trust_env=False, timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    self.statuses.append(client.get(self.url).status_code)
                except httpx.HTTPError:
                    self.statuses.append(0)
                self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - started)))

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def start_watch(config: Path, state: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "premortem", "watch", "--config", str(config),
        "--state-dir", str(state), "--interval", "2s", "--healthy", "5s",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(log, "ab"))  # noqa: SIM115
    wait_for(lambda: "watching" in log.read_text(errors="replace"), 30, "watch did not start")
    return process


def stop_watch(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def incidents(state: Path) -> list[Incident]:
    if not (state / "premortem.sqlite3").exists():
        return []
    with open_store(state) as store:
        return store.incidents()


def event_kinds(state: Path, incident_id: int) -> list[str]:
    with open_store(state) as store:
        return [e.kind for e in store.events(incident_id=incident_id)]


def count_5xx(log: Path, start: datetime, end: datetime) -> tuple[int, int]:
    total = failed = 0
    for line in log.read_text(errors="replace").splitlines():
        match = LINE.match(line)
        if not match:
            continue
        when = datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S %z")
        if start <= when <= end:
            total += 1
            failed += match.group(2).startswith("5")
    return total, failed


def test_seed_opens_an_incident_in_seconds_and_the_report_measures_it(
    healthy_lab: Lab, tmp_path: Path
) -> None:
    config = healthy_lab.config_path
    site = healthy_lab.site_config()
    state = tmp_path / "state"
    watch_log = tmp_path / "watch.log"
    with Load(site.url, LOAD_RATE) as load:
        watch = start_watch(config, state, watch_log)
        try:
            time.sleep(3)  # healthy traffic first
            broken_at = time.time()
            healthy_lab.break_scenario("seed")
            wait_for(lambda: incidents(state), 30, "no incident opened")
            (incident,) = incidents(state)
            assert incident.first_error_at is not None
            latency = (incident.detected_at - incident.first_error_at).total_seconds()
            since_break = incident.detected_at.timestamp() - broken_at
            print(
                f"\nseed -> incident {incident.id} ({incident.trigger}): detected {latency:.2f} s "
                f"after the first failed request ({since_break:.2f} s after `lab break seed` began)"
            )
            assert latency <= 10.0
            assert incident.first_error_at.timestamp() >= broken_at - 1
            wait_for(lambda: "diagnosis" in event_kinds(state, incident.id), 60, "no diagnosis")

            # logrotate during the outage: rename, then a graceful restart reopens the log.
            access_log = Path(site.access_log)
            rotated = access_log.with_name(access_log.name + ".1")
            os.replace(access_log, rotated)
            lab_apache.graceful(healthy_lab.paths)
            wait_for(access_log.exists, 10, "Apache did not reopen its access log")
            time.sleep(2)

            # Restart the watch while the incident is open: the new one takes it over.
            assert stop_watch(watch) == 0
            assert incidents(state)[0].status == "open"
            watch = start_watch(config, state, watch_log)
            wait_for(lambda: "is still open" in watch_log.read_text(), 10, "not adopted")

            repaired_at = time.time()
            healthy_lab.repair()
            wait_for(lambda: incidents(state)[0].status == "resolved", 60, "not resolved")
            resolved = incidents(state)[0]
            assert resolved.resolved_at is not None
            with open_store(state) as store:
                (done,) = store.events(kinds=["incident.resolved"])
            # The healthy period was judged on requests read from the new log file.
            healthy_requests = int(re.search(r"(\d+) of (\d+) requests", done.message)[2])  # type: ignore[index]
            assert healthy_requests > 0, done.message
            print(
                f"repair -> resolved {resolved.resolved_at.timestamp() - repaired_at:.1f} s "
                f"after `lab repair` began (healthy period 5 s)"
            )
        finally:
            code = stop_watch(watch)
        assert code == 0
    assert len(incidents(state)) == 1
    assert 0 not in load.statuses[:5]
    print(f"load: {len(load.statuses)} requests, {load.statuses.count(500)} answered 500")

    proc = subprocess.run(
        [sys.executable, "-m", "premortem", "report", str(incident.id), "--format", "json",
         "--config", str(config), "--state-dir", str(state)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    impact = report["impact"]
    start = datetime.fromisoformat(impact["window_start"])
    end = datetime.fromisoformat(impact["window_end"])
    # The rotated file and the new one are both read, and both counted independently.
    assert {str(rotated), str(access_log)} <= set(impact["sources"]), impact["sources"]
    total, failed = 0, 0
    for path in map(Path, impact["sources"]):
        counted = count_5xx(path, start, end)
        total, failed = total + counted[0], failed + counted[1]
    print(
        f"report: {impact['requests_failed']} failed of {impact['requests_total']} requests; "
        f"independent count of the access log: {failed} of {total}"
    )
    assert failed > 0
    assert abs(impact["requests_failed"] - failed) <= 0.01 * failed
    assert abs(impact["requests_total"] - total) <= 0.01 * total
    assert "class-wp-locale.phpp" in json.dumps(report["root_cause"])
    assert report["root_cause"]["line"] == 156
    assert report["detection_and_response"]["time_to_detect_seconds"] <= 10.0
    kinds = [entry["kind"] for entry in report["timeline"]]
    assert kinds.index("first-error") < kinds.index("incident.open") < kinds.index("diagnosis")
    assert kinds[-1] in ("incident.resolved", "watch.stop")

    outputs = [proc.stdout, watch_log.read_text(errors="replace")]
    for fmt in ("md", "html"):
        out = tmp_path / f"postmortem.{fmt}"
        rendered = subprocess.run(
            [sys.executable, "-m", "premortem", "report", str(incident.id), "--format", fmt,
             "-o", str(out), "--config", str(config), "--state-dir", str(state)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert rendered.returncode == 0, rendered.stderr
        text = out.read_text()
        assert "Root Cause and Resolution" in text and "class-wp-locale.phpp" in text
        outputs.append(text)
    outputs.append((state / "premortem.sqlite3").read_bytes().decode("latin-1"))
    for secret_file in (healthy_lab.paths.db_password_file, healthy_lab.paths.admin_password_file):
        secret = secret_file.read_text().strip()
        assert len(secret) >= 8
        assert not any(secret in output for output in outputs), secret_file.name
