"""Soak `premortem watch`: hours of a busy site replayed fast, with everything that goes wrong.

    .venv/bin/python bench/bench_soak.py [--hours 2] [--speed 24] [--rate 25] [--outages 12]
                                         [--json]

What runs: the real `premortem watch URL --access-log LOG --state-dir STATE` as a child
process, probing a small HTTP server this harness runs on 127.0.0.1 (its answers are what the
harness says: 200, 503, no listener, or no answer in time) and tailing the access log a writer
thread appends to as that server would (its probes logged too).

How time is compressed: watch has no virtual clock; it runs on the wall clock, so every
duration it knows is divided by `--speed` (default 24): the probe interval (5 s -> 0.21 s),
the error-rate window and the healthy period (30 s -> 1.25 s), and the traffic is multiplied
by it (`--rate` 25 requests a second of the simulated site -> 600 lines a real second). So
"2 hours" is 2 h of the site's requests (180,000 lines at the defaults), of its probes
(1,440) and of its incident lifecycle at production thresholds, in 5 real minutes.

What is injected, in `--outages` evenly spaced cycles (each: healthy, then an outage of 30%
of the cycle, then healthy again): outages in turn of 5xx answers (probes 503, half of the
logged requests 5xx), the server gone (connection refused, no log lines) and a server that
hangs (probes time out, no log lines); log rotation by rename+create (the server writes to
the old file a moment longer), copytruncate and truncation, one cycle in three each, and a
rename in the middle of some outages; a webhook receiver that hangs (never answers) in odd
cycles and answers in even ones; SIGTERM + restart of watch with the incident open (cycle 2),
SIGKILL + restart with the incident open (cycle 3); the store's disk full (a 4 MB tmpfs for
the state dir filled to the last byte, when run as root) through all of cycle 4's outage.

What is measured: the watch's RSS (psutil, every real second) and its growth over the run of
the last watch process (from after its warm-up, its first 10%, to its end); incidents and
events in the store against what was injected: one incident per outage, opened and resolved
once, in the outage's time span; one probe.failed and one probe.recovered per outage; every
webhook notification either delivered once or recorded as webhook.failed; watch.start and
watch.stop once per process start and clean stop. Bars (issue 16): the simulated 2 h in under
10 real minutes, RSS growth under 10%, counts equal. Exit 1 when one is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

from premortem.store import open_store

BATCHES_PER_SECOND = 20
OUTAGE_KINDS = ("5xx", "down", "hang")
ROTATIONS = ("rename", "copytruncate", "truncate")
STATE_FS_BYTES = 4 * 1024 * 1024


def log_line(status: int, path: str = "/", agent: str = "Mozilla/5.0") -> bytes:
    stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    ip = f"203.0.113.{random.randint(1, 254)}"
    return (
        f'{ip} - - [{stamp}] "GET {path} HTTP/1.1" {status} {random.randint(200, 9000)} '
        f'"-" "{agent}"\n'
    ).encode()


class AccessLog:
    """The site's access log, written as Apache writes it: one O_APPEND descriptor, kept
    across a rename until the server is 'reloaded'."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.lines = 0

    def write(self, data: bytes, count: int) -> None:
        with self.lock:
            os.write(self.fd, data)
            self.lines += count

    def rotate(self, how: str) -> None:
        old = self.path.with_name(self.path.name + ".1")
        if how == "rename":
            with self.lock:
                self.path.rename(old)
                self.path.touch()
            time.sleep(0.3)  # the server writes to the renamed file until it reloads
            with self.lock:
                os.close(self.fd)
                self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        elif how == "copytruncate":
            with self.lock:
                shutil.copyfile(self.path, old)
                os.truncate(self.path, 0)
        else:
            with self.lock:
                os.truncate(self.path, 0)

    def close(self) -> None:
        os.close(self.fd)


class Site:
    """What the simulated site does now: 'ok', '5xx', 'down' or 'hang'."""

    def __init__(self, log: AccessLog, port: int) -> None:
        self.log, self.port = log, port
        self.mode = "ok"
        self.server: ThreadingHTTPServer | None = None
        self.probes = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.probes += 1
                if site.mode == "hang":
                    time.sleep(2.0)
                    return
                status = 503 if site.mode == "5xx" else 200
                site.log.write(log_line(status, self.path, "premortem-watch"), 1)
                with contextlib.suppress(OSError):
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def up(self) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def set_mode(self, mode: str) -> None:
        if mode == "down":
            self.down()
        elif self.server is None:
            self.up()
        self.mode = mode


class Traffic(threading.Thread):
    """Appends `rate` lines a real second while the site answers (half 5xx in a 5xx outage)."""

    def __init__(self, site: Site, rate: float) -> None:
        super().__init__(daemon=True)
        self.site, self.rate = site, rate
        self.stop = threading.Event()

    def run(self) -> None:
        per_batch = self.rate / BATCHES_PER_SECOND
        owed = 0.0
        while not self.stop.wait(1 / BATCHES_PER_SECOND):
            owed += per_batch
            count, owed = int(owed), owed - int(owed)
            if self.site.mode in ("down", "hang") or not count:
                continue
            failing = self.site.mode == "5xx"
            statuses = [
                (503 if failing and random.random() < 0.5 else random.choice((200, 200, 304)))
                for _ in range(count)
            ]
            self.site.log.write(b"".join(log_line(s, "/blog/") for s in statuses), count)


class Receiver:
    """The webhook's receiver: answers 204, or hangs (never answers) while `hang` is set."""

    def __init__(self) -> None:
        self.hang = False
        self.delivered: list[tuple[str, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.hang:
                    time.sleep(30)
                    return
                payload = json.loads(body)
                receiver.delivered.append((payload["event"], payload["incident"]["id"]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Watch:
    """The `premortem watch` child processes, one after the other, and their RSS."""

    args: list[str]
    workdir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    clean_stops: int = 0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, pid, rss)

    def start(self) -> None:
        stderr = (self.workdir / f"watch-{self.starts}.err").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "premortem", "watch", *self.args],
            stdout=stderr,
            stderr=stderr,
            cwd=self.workdir,
        )
        self.starts += 1

    def stop(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        if signum == signal.SIGTERM and code == 0:
            self.clean_stops += 1
        self.process = None

    def sample(self, t: float) -> None:
        if self.process is not None:
            with contextlib.suppress(psutil.Error):
                rss = psutil.Process(self.process.pid).memory_info().rss
                self.samples.append((t, self.process.pid, rss))


class StateDisk:
    """The state dir on its own 4 MB tmpfs (as root), so that it can be filled to the last byte."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir()
        self.mounted = os.geteuid() == 0 and _mount_tmpfs(path)
        self.filler = path.parent / "state-filler"
        self.full = False

    def fill(self) -> bool:
        if not self.mounted:
            return False
        self.filler = self.path / "filler"
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (65536, 512, 1):  # to the last byte
                with contextlib.suppress(OSError):
                    while os.write(fd, b"\0" * size):
                        pass
        finally:
            os.close(fd)
        self.full = True
        return True

    def free(self) -> None:
        if self.full:
            self.filler.unlink()
            self.full = False

    def close(self) -> None:
        if self.mounted:
            self.free()
            shutil.copytree(self.path, self.path.with_name("state-kept"))
            subprocess.run(["umount", str(self.path)], check=False)


def _mount_tmpfs(path: Path) -> bool:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={STATE_FS_BYTES}", "premortem-soak", str(path)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@dataclass
class Outage:
    index: int
    kind: str
    started: datetime
    ended: datetime | None = None
    disruption: str = ""


@dataclass
class Soak:
    hours: float
    speed: float
    rate: float
    outages: int
    workdir: Path
    injected: list[Outage] = field(default_factory=list)
    rotations: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.log = AccessLog(self.workdir / "access.log")
        self.site = Site(self.log, _free_port())
        self.site.up()
        self.traffic = Traffic(self.site, self.rate * self.speed)
        self.receiver = Receiver()
        self.disk = StateDisk(self.workdir / "state")
        scale = self.speed
        self.watch = Watch(
            [
                f"http://127.0.0.1:{self.site.port}/",
                *("--access-log", str(self.log.path), "--state-dir", str(self.disk.path)),
                *("--interval", f"{5000 / scale:.0f}ms", "--timeout", "500ms"),
                *("--window", f"{30000 / scale:.0f}ms", "--healthy", f"{30000 / scale:.0f}ms"),
                *("--no-auto-diagnose", "--webhook", f"http://127.0.0.1:{self.receiver.port}/"),
                *("--webhook-timeout", "500ms"),
            ],
            self.workdir,
        )
        self.real_seconds = self.hours * 3600 / self.speed
        self.cycle = self.real_seconds / self.outages

    def close(self) -> None:
        self.traffic.stop.set()
        if self.watch.process is not None:
            self.watch.process.kill()
            self.watch.process.wait()
        self.site.down()
        self.receiver.close()
        self.log.close()
        self.disk.close()

    def run(self) -> float:
        """The whole soak; returns its real duration."""
        started = time.monotonic()
        sampling = threading.Event()
        threading.Thread(target=self._sample, args=(started, sampling), daemon=True).start()
        self.watch.start()
        _wait_started(self.disk.path)
        self.traffic.start()
        for index in range(self.outages):
            self._cycle(index, started + index * self.cycle)
        _sleep_until(started + self.real_seconds)
        self.watch.stop(signal.SIGTERM)
        sampling.set()
        return time.monotonic() - started

    def _cycle(self, index: int, begin: float) -> None:
        """One cycle: a rotation, then an outage (with a restart or a full disk in some)."""
        at = lambda fraction: begin + fraction * self.cycle  # noqa: E731
        _sleep_until(at(0.15))
        how = ROTATIONS[index % len(ROTATIONS)]
        self.log.rotate(how)
        self.rotations[how] += 1
        self.receiver.hang = index % 2 == 1
        outage = Outage(index, OUTAGE_KINDS[index % len(OUTAGE_KINDS)], datetime.now(UTC))
        if index == 3 and self.disk.fill():
            outage.disruption = "disk full"
        _sleep_until(at(0.35))
        outage.started = datetime.now(UTC)
        self.site.set_mode(outage.kind)
        self.injected.append(outage)
        if index in (1, 2):
            signum = signal.SIGTERM if index == 1 else signal.SIGKILL
            _wait_open_incident(self.disk.path, at(0.6))
            time.sleep(0.6)  # the webhook of the open has had its timeout
            self.watch.stop(signum)
            self.watch.start()
            outage.disruption = f"{signal.Signals(signum).name} + restart with the incident open"
        if index % 4 == 2:
            _sleep_until(at(0.5))
            self.log.rotate("rename")
            self.rotations["rename"] += 1
        _sleep_until(at(0.65))
        self.site.set_mode("ok")
        outage.ended = datetime.now(UTC)
        if self.disk.full:
            _sleep_until(at(0.95))
            self.disk.free()

    def _sample(self, started: float, done: threading.Event) -> None:
        while not done.wait(1.0):
            self.watch.sample(time.monotonic() - started)


def _free_port() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    server.server_close()
    return int(port)


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def _wait_started(state: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception), open_store(state, create=False) as store:
            if store.events(kinds=["watch.start"]):
                return
        time.sleep(0.1)
    raise SystemExit("premortem watch did not start (see watch-0.err)")


def _wait_open_incident(state: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception), open_store(state, create=False) as store:
            if store.incidents(status="open"):
                return
        time.sleep(0.05)


def verify(soak: Soak) -> dict[str, Any]:
    """Incidents and events in the store against what was injected."""
    with open_store(soak.disk.path, create=False) as store:
        incidents = store.incidents()
        events = store.events()
    kinds = Counter(event.kind for event in events)
    per_incident = Counter((e.kind, e.incident_id) for e in events)
    problems: list[str] = []
    slack = 0.3 * soak.cycle
    matched: set[int] = set()
    for outage in soak.injected:
        assert outage.ended is not None
        ids = [
            i.id
            for i in incidents
            if outage.started.timestamp()
            <= i.detected_at.timestamp()
            <= outage.ended.timestamp() + slack
        ]
        matched.update(ids)
        if len(ids) != 1:
            problems.append(f"outage {outage.index} ({outage.kind}): incidents {ids}")
    problems += [f"incident {i.id} not in any outage: {i.title}" for i in incidents
                 if i.id not in matched]  # fmt: skip
    problems += [f"incident {i.id} still {i.status}" for i in incidents if i.status != "resolved"]
    for incident in incidents:
        for kind in ("incident.open", "incident.resolved"):
            if per_incident[(kind, incident.id)] != 1:
                problems.append(
                    f"incident {incident.id}: {per_incident[(kind, incident.id)]} {kind}"
                )
    problems += _webhook_problems(soak, incidents, events)
    expected = {
        "probe.failed": len(soak.injected),
        "probe.recovered": len(soak.injected),
        "watch.start": soak.watch.starts,
        "watch.stop": soak.watch.clean_stops,
    }
    problems += [
        f"{kind}: {kinds[kind]} in the store, {count} expected"
        for kind, count in expected.items()
        if kinds[kind] != count
    ]
    return {
        "outages_injected": len(soak.injected),
        "incidents_stored": len(incidents),
        "events_stored": dict(sorted(kinds.items())),
        "events_expected": expected,
        "problems": problems,
    }


def _webhook_problems(soak: Soak, incidents: list[Any], events: list[Any]) -> list[str]:
    """Each incident's open and resolved notification: delivered once or recorded as failed."""
    outcome: Counter[tuple[str, int]] = Counter(soak.receiver.delivered)
    for event in events:
        if event.kind == "webhook.failed":
            outcome[(str(event.data.get("event")), event.incident_id)] += 1
    problems = []
    for incident in incidents:
        for kind in ("incident.open", "incident.resolved"):
            if outcome[(kind, incident.id)] != 1:
                problems.append(
                    f"incident {incident.id}: {kind} notification delivered or failed "
                    f"{outcome[(kind, incident.id)]} times"
                )
    return problems


def memory(soak: Soak) -> dict[str, Any]:
    """RSS of the last watch process: at its start, after its warm-up (its first 10%), at the
    end, and the growth from warm-up to end."""
    last_pid = soak.watch.samples[-1][1]
    mine = [(t, rss) for t, pid, rss in soak.watch.samples if pid == last_pid]
    span = mine[-1][0] - mine[0][0]
    warm = [rss for t, rss in mine if t - mine[0][0] <= 0.1 * span]
    baseline = max(warm)
    end = mine[-1][1]
    return {
        "process_seconds": round(span, 1),
        "rss_first_mb": round(mine[0][1] / 2**20, 1),
        "rss_after_warmup_mb": round(baseline / 2**20, 1),
        "rss_end_mb": round(end / 2**20, 1),
        "rss_max_mb": round(max(rss for _t, rss in mine) / 2**20, 1),
        "growth_percent": round(100 * (end - baseline) / baseline, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=2.0, help="simulated duration")
    parser.add_argument("--speed", type=float, default=24.0, help="time compression")
    parser.add_argument("--rate", type=float, default=25.0, help="requests/s of the site")
    parser.add_argument("--outages", type=int, default=12)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (store, logs)")
    args = parser.parse_args()
    if args.outages < 4:
        parser.error("--outages must be at least 4 (restarts and the full disk need them)")
    workdir = Path(tempfile.mkdtemp(prefix="premortem-soak-"))
    soak = Soak(args.hours, args.speed, args.rate, args.outages, workdir)
    try:
        real = soak.run()
        result = {
            "simulated_hours": args.hours,
            "speed": args.speed,
            "real_seconds": round(real, 1),
            "log_lines": soak.log.lines,
            "probes_answered": soak.site.probes,
            "rotations": dict(soak.rotations),
            "outages": [
                f"{o.kind}{' (' + o.disruption + ')' if o.disruption else ''}"
                for o in soak.injected
            ],
            "state_disk": "4 MB tmpfs" if soak.disk.mounted else "not full-able (not root)",
            "webhooks_delivered": len(soak.receiver.delivered),
            "memory": memory(soak),
            **verify(soak),
        }
    finally:
        soak.close()
        stderr = "".join(p.read_text(errors="replace") for p in sorted(workdir.glob("*.err")))
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result["watch_said"] = stderr.splitlines()[-60:]
    return report(result, as_json=args.json)


def report(result: dict[str, Any], *, as_json: bool) -> int:
    bars = {
        "2 h in under 10 real minutes": result["real_seconds"]
        < 600 * result["simulated_hours"] / 2,
        "RSS growth under 10%": result["memory"]["growth_percent"] < 10,
        "incidents and events equal to what was injected": not result["problems"],
    }
    result["bars"] = bars
    if as_json:
        print(json.dumps(result, indent=1))
    else:
        for key, value in result.items():
            if key not in ("watch_said", "bars"):
                print(f"{key}: {value}")
        for name, met in bars.items():
            print(f"{'PASS' if met else 'FAIL'}  {name}")
    return 0 if all(bars.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
