"""Measure `premortem watch` on the lab: how fast the seed outage opens an incident, how fast
`lab repair` resolves it, and whether the report's impact matches the access log.

    .venv/bin/python bench/bench_watch.py [--cycles 5] [--rate 3] [--dir DIR] [--keep]

Brings up its own lab (Apache + mod_php, MariaDB, Debian WordPress on 127.0.0.1, a free port),
sends loopback load at --rate requests/s, runs `premortem watch` as a user would, and for
each cycle: `lab break seed`, wait for the incident, `lab repair`, wait for the resolution.
Then the same with probes only (no access log) for comparison. Prints one line per cycle
and the medians; exit 1 if a cycle missed the 10 s detection bar or the 1% report bar.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

from premortem.ops.lab import Lab
from premortem.ops.lab.procs import free_port
from premortem.store import Incident, open_store

LINE = re.compile(r'^\S+ \S+ \S+ \[([^\]]+)\] "[^"]*" (\d{3}) ')


class Load:
    def __init__(self, url: str, rate: float) -> None:
        self.url, self.rate = url, rate
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        with httpx.Client(trust_env=False, timeout=10) as client:
            while not self.stop.is_set():
                started = time.monotonic()
                with contextlib.suppress(httpx.HTTPError):
                    client.get(self.url)
                self.stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - started)))


def wait(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def incidents(state: Path) -> list[Incident]:
    if not (state / "premortem.sqlite3").exists():
        return []
    with open_store(state) as store:
        return store.incidents()


def independent_count(log: Path, start: datetime, end: datetime) -> int:
    failed = 0
    for line in log.read_text(errors="replace").splitlines():
        match = LINE.match(line)
        if match and match.group(2).startswith("5"):
            when = datetime.strptime(match.group(1), "%d/%b/%Y:%H:%M:%S %z")
            failed += start <= when <= end
    return failed


def run_mode(
    lab: Lab, work: Path, name: str, cycles: int, probes_only: bool
) -> list[dict[str, float]]:
    state = work / f"state-{name}"
    log = work / f"watch-{name}.log"
    config = lab.site_config()
    command = [
        sys.executable,
        "-m",
        "premortem",
        "watch",
        "--config",
        str(lab.config_path),
        "--state-dir",
        str(state),
        "--interval",
        "2s",
        "--healthy",
        "5s",
    ]
    if probes_only:
        command += ["--access-log", str(work / "no-such-access.log")]
    watch = subprocess.Popen(command, stderr=open(log, "wb"))  # noqa: SIM115
    rows: list[dict[str, float]] = []
    try:
        assert wait(lambda: "watching" in log.read_text(), 30), "watch did not start"
        for cycle in range(cycles):
            time.sleep(4)
            before = len(incidents(state))
            broke = time.time()
            lab.break_scenario("seed")
            if not wait(lambda before=before: len(incidents(state)) > before, 30):
                print(f"{name} cycle {cycle + 1}: NO INCIDENT within 30 s", flush=True)
                lab.repair()
                continue
            incident = incidents(state)[-1]
            assert incident.first_error_at is not None
            repaired = time.time()
            lab.repair()
            resolved_ok = wait(lambda: incidents(state)[-1].status == "resolved", 90)
            done = incidents(state)[-1]
            row = {
                "detect": (incident.detected_at - incident.first_error_at).total_seconds(),
                "break_to_open": incident.detected_at.timestamp() - broke,
                "repair_to_resolved": (done.resolved_at.timestamp() - repaired)
                if resolved_ok and done.resolved_at
                else float("nan"),
            }
            report = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "premortem",
                    "report",
                    str(incident.id),
                    "--format",
                    "json",
                    "--config",
                    str(lab.config_path),
                    "--state-dir",
                    str(state),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            impact = json.loads(report.stdout)["impact"]
            counted = independent_count(
                Path(config.access_log),
                datetime.fromisoformat(impact["window_start"]),
                datetime.fromisoformat(impact["window_end"]),
            )
            row["report_failed"] = impact["requests_failed"]
            row["counted_failed"] = counted
            rows.append(row)
            print(
                f"{name} cycle {cycle + 1}: detected {row['detect']:.2f} s after the first failed "
                f"request ({row['break_to_open']:.2f} s after break began, trigger "
                f"{incident.trigger}); resolved {row['repair_to_resolved']:.1f} s after repair; "
                f"report {impact['requests_failed']} failed vs {counted} counted",
                flush=True,
            )
    finally:
        watch.send_signal(signal.SIGTERM)
        watch.wait(timeout=20)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--rate", type=float, default=3.0)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the lab afterwards")
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="premortem-bench-watch-", dir="/tmp"))
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    lab = Lab(base / "lab", progress=lambda m: print(m, file=sys.stderr))
    lab.up(port=free_port())
    load = Load(lab.site_config().url, args.rate)
    load.thread.start()
    ok = True
    try:
        results = {
            "access log + probes": run_mode(lab, base, "log", args.cycles, probes_only=False),
            "probes only (2 s interval)": run_mode(lab, base, "probes", args.cycles, True),
        }
        print(f"\nloopback load {args.rate:g} req/s, seed break/repair, {args.cycles} cycles each")
        for name, rows in results.items():
            if not rows:
                print(f"{name}: no incident")
                ok = False
                continue
            detect = [r["detect"] for r in rows]
            print(
                f"{name}: detection median {statistics.median(detect):.2f} s, max "
                f"{max(detect):.2f} s; break->open median "
                f"{statistics.median(r['break_to_open'] for r in rows):.2f} s; repair->resolved "
                f"median {statistics.median(r['repair_to_resolved'] for r in rows):.1f} s; "
                f"{len(rows)}/{args.cycles} detected"
            )
            ok &= len(rows) == args.cycles and max(detect) <= 10.0
            ok &= all(
                abs(r["report_failed"] - r["counted_failed"]) <= 0.01 * max(1, r["counted_failed"])
                for r in rows
            )
    finally:
        load.stop.set()
        load.thread.join(timeout=15)
        lab.repair()
        if not args.keep:
            lab.destroy()
            if args.dir is None:
                shutil.rmtree(base, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
