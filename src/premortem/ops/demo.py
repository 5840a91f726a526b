"""`premortem demo`: the seed story, end to end, with real processes on the lab.

The seed postmortem took 57 hours from the deploy to the fix. The demo replays it on the
lab (real Apache + mod_php, MariaDB, Debian's WordPress on 127.0.0.1) with the commands a
team would run, each as its own process so that the demo exercises the same contracts
(CLI, exit codes, JSON) users rely on:

1. bring the lab up; 2. deploy a good release; 3. start `premortem watch` and loopback
traffic from a dozen simulated clients (127.0.0.10-21); 4. deploy the seed release with the
gate and the stage bypassed, as the seed's team did; 5. wait for watch to open an incident;
6. `premortem diagnose`; 7. `premortem fix --yes`; 8. wait for watch to resolve the
incident; 9. `premortem report` in Markdown and HTML; 10. show that `premortem check`
and a gated `premortem deploy` would have stopped the release in the first place.

Every step prints its measured time; the summary compares them with the seed's timeline.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from premortem.errors import PremortemError

# The seed's own figures (seed/postmortem.md): deploy at 1:30 p.m. Oct 29, customers
# complained at 1:50 p.m., the typo was found Oct 31 11:00 a.m. (45.5 h after the deploy),
# and the summary gives 57 hours of errors (Oct 29 12:30 p.m. to Oct 31 9:30 p.m.).
SEED_HOURS_TO_DETECT = 20 / 60
SEED_HOURS_TO_ROOT_CAUSE = 45.5
SEED_HOURS_TOTAL = 57.0

SEED_LINE_GOOD = "require_once ABSPATH . WPINC . '/class-wp-locale.php';"
SEED_LINE_TYPO = "require_once ABSPATH . WPINC . '/class-wp-locale.phpp';"

# Static files keep answering during the outage, so, as in the seed, only part of the
# traffic fails.
TRAFFIC_PATHS = (
    "/",
    "/?p=1",
    "/wp-login.php",
    "/wp-includes/css/dashicons.min.css",
    "/wp-includes/js/jquery/jquery.min.js",
    "/favicon.ico",
)
SIMULATED_CLIENTS = 12


Say = Callable[[str], None]


@dataclass
class Step:
    name: str
    seconds: float
    detail: str = ""


@dataclass
class DemoResult:
    steps: list[Step] = field(default_factory=list)
    # Measured from the switch to the seed release (seconds).
    to_detect: float = 0.0
    to_root_cause: float = 0.0
    to_recover: float = 0.0
    incident: dict[str, Any] = field(default_factory=dict)
    report_md: Path | None = None
    report_html: Path | None = None
    total_seconds: float = 0.0
    # The lab keeps running after the demo, to be explored (`lab down` stops it).
    lab_url: str = ""
    lab_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [s.__dict__ for s in self.steps],
            "incident": self.incident,
            "report_md": str(self.report_md) if self.report_md else None,
            "report_html": str(self.report_html) if self.report_html else None,
            "total_seconds": round(self.total_seconds, 2),
            "lab_url": self.lab_url,
            "lab_dir": str(self.lab_dir) if self.lab_dir else None,
            "since_switch": {
                "detect": round(self.to_detect, 2),
                "root_cause": round(self.to_root_cause, 2),
                "recover": round(self.to_recover, 2),
            },
        }


def premortem_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "premortem", *args]


class Traffic:
    """Loopback traffic from several source addresses, so impact counts distinct clients."""

    def __init__(self, base_url: str, clients: int = SIMULATED_CLIENTS) -> None:
        self.base_url = base_url.rstrip("/")
        self.addresses = [f"127.0.0.{10 + i}" for i in range(clients)]
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.sent = 0
        self.failed = 0
        self.lock = threading.Lock()

    def _client_loop(self, index: int, address: str) -> None:
        transport = httpx.HTTPTransport(local_address=address)
        with httpx.Client(transport=transport, timeout=5.0) as client:
            n = index
            while not self.stop_event.is_set():
                path = TRAFFIC_PATHS[n % len(TRAFFIC_PATHS)]
                n += 1
                try:
                    status = client.get(self.base_url + path).status_code
                except httpx.HTTPError:
                    status = 599
                with self.lock:
                    self.sent += 1
                    self.failed += status >= 500
                self.stop_event.wait(0.6)

    def start(self) -> None:
        for index, address in enumerate(self.addresses):
            thread = threading.Thread(target=self._client_loop, args=(index, address), daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=10)


class Demo:
    def __init__(
        self, lab_dir: Path, port: int, out_dir: Path, say: Say, server: str = "apache"
    ) -> None:
        self.lab_dir = lab_dir
        self.port = port
        self.server = server
        self.out_dir = out_dir
        self.say = say
        self.config = lab_dir / "premortem.toml"
        self.work = lab_dir / "demo"
        self.logs = out_dir / "logs"
        self.result = DemoResult(lab_url=self.url(), lab_dir=lab_dir)

    # -- plumbing --------------------------------------------------------------------

    def run(
        self, name: str, *args: str, ok_codes: tuple[int, ...] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        """Run one premortem command, keep its output in the demo's logs."""
        proc = subprocess.run(premortem_command(*args), capture_output=True, text=True, check=False)
        log = self.logs / f"{len(self.result.steps) + 1:02d}-{name}.log"
        log.write_text(
            f"$ premortem {' '.join(args)}\n[exit {proc.returncode}]\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}",
            encoding="utf-8",
        )
        if proc.returncode not in ok_codes:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise PremortemError(
                f"demo step {name!r} failed: premortem {' '.join(args)} exited "
                f"{proc.returncode} (full output in {log}):\n{tail}"
            )
        return proc

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        self.say(f"[bold]>>> {name}[/]")
        record = Step(name=name, seconds=0.0)
        started = time.monotonic()
        try:
            yield record
        finally:
            record.seconds = time.monotonic() - started
            self.result.steps.append(record)
            detail = f" - {record.detail}" if record.detail else ""
            self.say(f"    done in [cyan]{record.seconds:.1f} s[/]{detail}")

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def incidents(self) -> list[dict[str, Any]]:
        proc = self.run("incidents", "incidents", "--config", str(self.config), "--format", "json")
        data = json.loads(proc.stdout)
        items = data["incidents"] if isinstance(data, dict) else data
        return list(items)

    def wait_for_incident(
        self, known: set[int], want_status: str, timeout: float
    ) -> dict[str, Any]:
        return self._wait_incident(
            lambda i: i["id"] not in known and i["status"] == want_status,
            timeout,
            f"no incident became {want_status} within {timeout:.0f} s",
        )

    def wait_until_none_open(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(i["status"] == "open" for i in self.incidents()):
            if time.monotonic() > deadline:
                raise PremortemError(f"an old incident is still open after {timeout:.0f} s")
            time.sleep(0.5)

    def wait_resolved(self, incident_id: int, timeout: float) -> dict[str, Any]:
        return self._wait_incident(
            lambda i: i["id"] == incident_id and i["status"] == "resolved",
            timeout,
            f"incident {incident_id} was not resolved within {timeout:.0f} s",
        )

    def _wait_incident(
        self, wanted: Callable[[dict[str, Any]], bool], timeout: float, failure: str
    ) -> dict[str, Any]:
        """The first incident `wanted` accepts, polled for until `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for incident in self.incidents():
                if wanted(incident):
                    return incident
            time.sleep(0.5)
        raise PremortemError(failure)

    # -- the story -------------------------------------------------------------------

    def prepare_sources(self) -> tuple[Path, Path]:
        """A good release (Debian's WordPress) and the seed release (one include typo)."""
        good = self.work / "release-good"
        seed = self.work / "release-seed"
        for path in (good, seed):
            if path.exists():
                shutil.rmtree(path)
        # Dereference Debian's symlinks into /usr/share/javascript: a release stands alone.
        shutil.copytree("/usr/share/wordpress", good, symlinks=False)
        shutil.copytree(good, seed, symlinks=True)
        settings = seed / "wp-settings.php"
        text = settings.read_text(encoding="utf-8")
        if SEED_LINE_GOOD not in text:
            raise PremortemError(f"{settings} has no line {SEED_LINE_GOOD!r} to break")
        settings.write_text(text.replace(SEED_LINE_GOOD, SEED_LINE_TYPO, 1), encoding="utf-8")
        return good, seed

    def start_watch(self) -> subprocess.Popen[bytes]:
        log = open(self.logs / "watch.log", "wb")  # noqa: SIM115 - lives as long as watch
        return subprocess.Popen(
            premortem_command(
                "watch",
                "--config",
                str(self.config),
                "--interval",
                "1s",
                "--timeout",
                "3s",
                "--window",
                "10s",
                "--min-requests",
                "10",
                "--healthy",
                "8s",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop_watch(self, watch: subprocess.Popen[bytes]) -> None:
        if watch.poll() is None:
            watch.send_signal(signal.SIGINT)
            try:
                watch.wait(timeout=15)
            except subprocess.TimeoutExpired:
                watch.kill()
                watch.wait()

    def tell(self) -> DemoResult:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.work.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.bring_up_the_lab()
        seed = self.deploy_the_good_release()
        self.live_through_the_outage(seed)
        self.write_the_postmortem()
        self.show_what_would_have_stopped_it(seed)
        self.result.total_seconds = time.monotonic() - started
        return self.result

    def bring_up_the_lab(self) -> None:
        stack = STACKS.get(self.server, self.server)
        with self.step(f"lab up: {stack}, MariaDB, WordPress on 127.0.0.1") as s:
            self.run(
                "lab-up",
                "lab",
                "up",
                "--dir",
                str(self.lab_dir),
                "--port",
                str(self.port),
                "--server",
                self.server,
            )
            # A previous demo may have left a fault behind; start from a healthy site.
            self.run("lab-repair", "lab", "repair", "--dir", str(self.lab_dir))
            s.detail = self.url()
        self.work = self.lab_dir / "demo"
        self.work.mkdir(parents=True, exist_ok=True)

    def deploy_the_good_release(self) -> Path:
        """Deploys the good release; returns the seed release's source, for later."""
        with self.step("prepare a good release and the seed release (.phpp typo)"):
            good, seed = self.prepare_sources()

        with self.step("deploy the good release (gate, stage, switch, verify)") as s:
            self.run(
                "deploy-good",
                "deploy",
                str(good),
                "--config",
                str(self.config),
                "--verify-seconds",
                "3",
            )
            s.detail = "live"
        return seed

    def live_through_the_outage(self, seed: Path) -> None:
        """The seed release goes live with watch and traffic on; detect, diagnose, fix."""
        known = {incident["id"] for incident in self.incidents()}
        traffic = Traffic(self.url())
        watch = self.start_watch()
        try:
            traffic.start()
            self.settle_watch(watch, traffic)
            with self.step("deploy the seed release, gate and stage bypassed (as in the seed)"):
                self.run(
                    "deploy-seed",
                    "deploy",
                    str(seed),
                    "--config",
                    str(self.config),
                    "--no-check",
                    "--no-stage",
                    "--no-verify",
                )
            switched_at = time.monotonic()
            with self.step("watch detects the outage") as s:
                incident = self.wait_for_incident(known, "open", timeout=60)
                self.result.to_detect = time.monotonic() - switched_at
                s.detail = (
                    f"incident {incident['id']} opened {self.result.to_detect:.1f} s after switch"
                )
            self.diagnose_the_root_cause(switched_at)
            self.fix_the_include()
            fixed_at = time.monotonic()
            self.result.to_recover = fixed_at - switched_at
            with self.step("watch sees the site healthy and resolves the incident") as s:
                self.result.incident = self.wait_resolved(int(incident["id"]), timeout=60)
                s.detail = f"resolved {time.monotonic() - fixed_at:.1f} s after the fix"
        finally:
            traffic.stop()
            self.stop_watch(watch)

    def settle_watch(self, watch: subprocess.Popen[bytes], traffic: Traffic) -> None:
        """Traffic flows and watch runs on the healthy site, with no incident left open."""
        with self.step("watch and traffic from 12 loopback clients") as s:
            time.sleep(3)
            # An incident left open by an interrupted earlier run is adopted by watch;
            # let it resolve on the healthy site so the seed opens a new one.
            self.wait_until_none_open(timeout=45)
            if watch.poll() is not None:
                raise PremortemError(f"watch exited early; see {self.logs / 'watch.log'}")
            s.detail = f"{traffic.sent} requests, {traffic.failed} failed"

    def diagnose_the_root_cause(self, switched_at: float) -> None:
        with self.step("diagnose the root cause") as s:
            proc = self.run(
                "diagnose",
                "diagnose",
                self.url(),
                "--config",
                str(self.config),
                "--format",
                "json",
                ok_codes=(0, 1),
            )
            diagnosis = json.loads(proc.stdout)
            (self.out_dir / "diagnosis.json").write_text(proc.stdout, encoding="utf-8")
            self.result.to_root_cause = time.monotonic() - switched_at
            top = diagnosis["findings"][0] if diagnosis.get("findings") else {}
            s.detail = (
                f"{top.get('rule')}: {top.get('file')}:{top.get('line')} {top.get('message', '')}"
            )

    def fix_the_include(self) -> None:
        with self.step("fix: patch the include, backed up, verified by re-probing") as s:
            diagnosis = str(self.out_dir / "diagnosis.json")
            self.run("fix", "fix", "--config", str(self.config), "--from", diagnosis, "--yes")
            s.detail = f"GET / -> {httpx.get(self.url(), timeout=10).status_code}"

    def write_the_postmortem(self) -> None:
        incident_id = str(self.result.incident["id"])
        with self.step("write the postmortem (Markdown and HTML)") as s:
            self.result.report_md = self.out_dir / "postmortem.md"
            self.result.report_html = self.out_dir / "postmortem.html"
            for fmt, path in (("md", self.result.report_md), ("html", self.result.report_html)):
                self.run(
                    f"report-{fmt}",
                    "report",
                    incident_id,
                    "--config",
                    str(self.config),
                    "--format",
                    fmt,
                    "-o",
                    str(path),
                )
            s.detail = str(self.result.report_md)

    def show_what_would_have_stopped_it(self, seed: Path) -> None:
        with self.step("premortem check would have stopped the release") as s:
            proc = self.run("check-seed", "check", str(seed), ok_codes=(1,))
            first = next(
                (line for line in proc.stdout.splitlines() if "phpp" in line), "error found"
            )
            s.detail = first.strip()

        with self.step("and a gated deploy refuses it, current unchanged") as s:
            self.run(
                "deploy-gated", "deploy", str(seed), "--config", str(self.config), ok_codes=(1,)
            )
            s.detail = "deploy stopped by the gate (exit 1)"


STACKS = {
    "apache": "Apache + mod_php",
    "nginx": "nginx + php-fpm",
    "apache-fpm": "Apache (event MPM) + php-fpm",
}


def run_demo(
    lab_dir: Path, port: int, out_dir: Path, say: Say, server: str = "apache"
) -> DemoResult:
    if os.geteuid() != 0:
        raise PremortemError("the demo brings up the lab, which needs root (apt, Apache, MariaDB)")
    return Demo(lab_dir, port, out_dir, say, server).tell()
