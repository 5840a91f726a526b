"""Measure what `premortem watch` costs on a busy site, and how fast it still detects.

    .venv/bin/python bench/bench_watch_load.py [--rate 2000] [--seconds 20] [--dir DIR]

Runs `premortem watch --access-log LOG` (no probes, no diagnosis: the log alone) as a user
would, while a writer appends --rate combined lines per second to LOG (in 20 batches a
second, as a busy server's buffered log writes), all answering 200 for --seconds; the CPU
the watch process used over that period (user + system, from /proc through psutil) is its
cost. Then half of the lines answer 500: the time until the store holds an open incident
is the detection delay. Bars: at most 10% of one core, detection within 3 s. Exit 1 when
one is missed. Starts no server; every process it starts is stopped.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

from premortem.store import open_store

BATCHES_PER_SECOND = 20


class Writer(threading.Thread):
    """Appends `rate` lines a second; `failing` makes half of them answer 500."""

    def __init__(self, log: Path, rate: int) -> None:
        super().__init__(daemon=True)
        self.log, self.rate = log, rate
        self.failing = threading.Event()
        self.stop = threading.Event()
        self.written = 0

    def run(self) -> None:
        rng = random.Random(5)
        per_batch = max(1, self.rate // BATCHES_PER_SECOND)
        with self.log.open("a") as out:
            next_at = time.monotonic()
            while not self.stop.is_set():
                stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
                lines = []
                for _ in range(per_batch):
                    status = 500 if self.failing.is_set() and rng.random() < 0.5 else 200
                    client = f"10.1.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                    lines.append(
                        f'{client} - - [{stamp}] "GET /p/{rng.randint(1, 500)}/ HTTP/1.1" '
                        f'{status} 5123 "-" "bench"\n'
                    )
                out.write("".join(lines))
                out.flush()
                self.written += per_batch
                next_at += 1 / BATCHES_PER_SECOND
                time.sleep(max(0.0, next_at - time.monotonic()))


def wait_for(predicate: object, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def incident_open(state: Path) -> bool:
    if not (state / "premortem.sqlite3").exists():
        return False
    with open_store(state) as store:
        return bool(store.incidents(status="open"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="premortem-bench-watch-load-"))
    log, state = work / "access.log", work / "state"
    log.write_text("")
    watch = subprocess.Popen(
        [sys.executable, "-m", "premortem", "watch", "--access-log", str(log),
         "--state-dir", str(state), "--no-auto-diagnose"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    writer = Writer(log, args.rate)
    try:
        if wait_for(lambda: (state / "premortem.sqlite3").exists(), 20) is None:
            raise SystemExit("watch did not start")
        writer.start()
        time.sleep(2)  # past start-up: measure the steady state only
        process = psutil.Process(watch.pid)
        before, started, lines_before = process.cpu_times(), time.monotonic(), writer.written
        time.sleep(args.seconds)
        after, elapsed = process.cpu_times(), time.monotonic() - started
        used = (after.user - before.user) + (after.system - before.system)
        share = 100 * used / elapsed
        rate = (writer.written - lines_before) / elapsed
        writer.failing.set()
        delay = wait_for(lambda: incident_open(state), 30)
    finally:
        writer.stop.set()
        watch.send_signal(signal.SIGTERM)
        try:
            watch.wait(timeout=15)
        except subprocess.TimeoutExpired:
            watch.kill()
        if not args.dir:
            shutil.rmtree(work, ignore_errors=True)
    print(f"watch following {rate:,.0f} lines/s for {elapsed:.0f} s: {share:.1f}% of one core "
          f"(bar: 10%)")  # fmt: skip
    print(f"detection after half the requests turned 500: "
          f"{'none in 30 s' if delay is None else f'{delay:.2f} s'} (bar: 3 s)")  # fmt: skip
    ok = share <= 10 and delay is not None and delay <= 3
    print("all bars met" if ok else "a bar was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
