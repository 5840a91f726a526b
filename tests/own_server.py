"""Helpers of the "your own server" tests: a site premortem did not build, driven by its CLI.

- `site_base`: a scratch dir under /tmp the web server's www-data workers can traverse;
- `copy_lab_wordpress`: the lab's WordPress copied into a docroot as if unpacked there
  (its database stays the lab's MariaDB);
- `seeded`: the seed postmortem's fault (a `.phpp` typo in wp-settings.php), undone after;
- `premortem`: the CLI in a child process, from a given (empty) directory;
- `diagnose_then_fix`: the seed diagnosed top-1 and fixed from its URL alone;
- `VhostTraffic`: bounded loopback visitors of one or more name-based virtual hosts;
- `watching`, `outage_under_traffic`: `premortem watch URL` through a seeded outage.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from premortem.ops.lab import Lab
from premortem.siteconfig import read_site_config, state_root
from premortem.store import Incident, open_store

SEED_LINE = "require_once ABSPATH . WPINC . '/class-wp-locale.php';"


@contextlib.contextmanager
def site_base(prefix: str) -> Iterator[Path]:
    """Under /tmp (mode 1777) and 0755: pytest's own 0700 tmp_path would keep the web
    server's www-data workers out. Removed at the end."""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def copy_lab_wordpress(lab: Lab, docroot: Path) -> None:
    """The lab's live release copied to `docroot`, the lab repaired first."""
    lab.repair()
    lab.wait_healthy(timeout=20)
    docroot.parent.mkdir(parents=True, exist_ok=True)
    # -L: the release's shared files (wp-config.php, uploads) become plain files, as in a
    # docroot WordPress was unpacked into; -a keeps their owners and modes.
    release = os.path.realpath(read_site_config(lab.config_path).docroot)
    subprocess.run(["cp", "-aL", release, str(docroot)], check=True)


@contextlib.contextmanager
def seeded(docroot: Path) -> Iterator[int]:
    """The seed's typo in docroot's wp-settings.php (yields its line); the file restored."""
    settings = docroot / "wp-settings.php"
    original = settings.read_text()
    line = original.splitlines().index(SEED_LINE) + 1
    settings.write_text(original.replace(SEED_LINE, SEED_LINE.replace(".php'", ".phpp'")))
    try:
        yield line
    finally:
        settings.write_text(original)


def premortem(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`premortem ARGS` run from `cwd`; stderr on one line (rich wraps it)."""
    proc = subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )
    proc.stderr = " ".join(proc.stderr.split())
    return proc


def wait_status(url: str, wanted: int, timeout: float = 10.0) -> int:
    """GET url until it answers `wanted` (a PHP opcache may serve the old file a while);
    the last status seen."""
    deadline = time.monotonic() + timeout
    while True:
        status = httpx.get(url, timeout=10, trust_env=False).status_code
        if status == wanted or time.monotonic() >= deadline:
            return status
        time.sleep(0.2)


def diagnose_then_fix(url: str, docroot: Path, *, cwd: Path) -> None:
    """With the seed in docroot: `diagnose URL` from `cwd` (no premortem.toml) names its
    file:line top-1, `fix --from` the saved diagnosis shows the edit without making it, and
    `fix URL --yes` makes it, backed up under the site's state dir, and the site answers."""
    settings = docroot / "wp-settings.php"
    original = settings.read_text()
    with seeded(docroot) as line:
        assert wait_status(url, 500) == 500
        diagnosed = premortem("diagnose", url, "--format", "json", cwd=cwd)
        assert diagnosed.returncode == 1, diagnosed.stderr
        top = json.loads(diagnosed.stdout)["findings"][0]
        assert (top["rule"], top["file"], top["line"]) == ("missing-file", "wp-settings.php", line)
        # The server's error log holds PHP's Fatal error (nginx: joined after a Warning).
        assert any(quote.startswith("log: ") for quote in top["evidence"]), top["evidence"]
        saved = cwd / "diagnosis.json"
        saved.write_text(diagnosed.stdout)
        dry = premortem("fix", "--from", str(saved), "--dry-run", cwd=cwd)
        assert dry.returncode == 0, dry.stderr
        assert f"+{SEED_LINE}" in dry.stdout
        assert "class-wp-locale.phpp" in settings.read_text()

        fixed = premortem("fix", url, "--yes", cwd=cwd)
        assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        assert "fixed" in fixed.stdout
        assert settings.read_text() == original
        assert httpx.get(url, timeout=10, trust_env=False).status_code < 500
        state = Path(os.environ["PREMORTEM_STATE_ROOT"]) / state_dir_name(url)
        backups = list((state / "backups").glob("fix-*/**/wp-settings.php"))
        assert len(backups) == 1 and SEED_LINE not in backups[0].read_text()


def state_dir_name(url: str) -> str:
    """The site's directory under the state root: host-port."""
    parts = urlsplit(url)
    return f"{parts.hostname}-{parts.port}"


@dataclass
class VhostTraffic:
    """Loopback visitors: `clients` threads per virtual host name, each GET / on `url` with
    that Host header `rate` times a second, until stopped, `max_seconds` passed or
    `max_requests` (per client) were made. `statuses[name]`: what each name answered
    (0: no answer)."""

    url: str
    names: Sequence[str]
    clients: int = 2
    rate: float = 2.0
    max_seconds: float = 120.0
    max_requests: int = 400
    statuses: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.statuses = {name: [] for name in self.names}
        self._threads = [
            threading.Thread(target=self._visit, args=(name,), daemon=True)
            for name in self.names
            for _ in range(self.clients)
        ]

    def _visit(self, name: str) -> None:
        deadline = time.monotonic() + self.max_seconds
        # As a browser sends it: with the port when it is not the scheme's default.
        port = urlsplit(self.url).port
        headers = {"Host": f"{name}:{port}" if port else name}
        with httpx.Client(trust_env=False, timeout=10, headers=headers) as client:
            for _ in range(self.max_requests):
                if self._stop.is_set() or time.monotonic() >= deadline:
                    return
                started = time.monotonic()
                try:
                    status = client.get(self.url).status_code
                except httpx.HTTPError:
                    status = 0
                with self._lock:
                    self.statuses[name].append(status)
                self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - started)))

    def __enter__(self) -> VhostTraffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)


def wait_log_settled(log: Path, quiet: float = 1.0, timeout: float = 20.0) -> None:
    """Until `log` has not grown for `quiet` seconds: a server writes a request's line after
    the client has its answer (later still under load), so a count made at once can be one
    line short of one made a moment after."""
    deadline = time.monotonic() + timeout
    size, since = log.stat().st_size, time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.1)
        if (now := log.stat().st_size) != size:
            size, since = now, time.monotonic()


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


def diagnosis_kinds(state: Path, incident_id: int) -> list[str]:
    with open_store(state) as store:
        events = store.events(incident_id=incident_id)
    return [e.kind for e in events if e.kind in ("diagnosis", "diagnosis.failed")]


@contextlib.contextmanager
def watching(url: str, cwd: Path) -> Iterator[Path]:
    """`premortem watch URL` (no premortem.toml) in a child process run from `cwd`; yields
    the file its stderr goes to. Stopped with SIGTERM, which must end it cleanly (exit 0)."""
    log = cwd / "watch.log"
    command = [
        sys.executable, "-m", "premortem", "watch", url, "--interval", "2s", "--healthy", "5s",
    ]  # fmt: skip
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
        )
    try:
        wait_for(lambda: "watching" in log.read_text(errors="replace"), 30, "watch did not start")
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, log.read_text(errors="replace")


def outage_under_traffic(
    url: str, docroot: Path, names: Sequence[str], cwd: Path
) -> tuple[Incident, VhostTraffic]:
    """The sites `names` (virtual hosts at `url`) loaded, `watch URL` started, the seed
    injected in `docroot` until the incident is diagnosed, then repaired until it resolves;
    the incident and the traffic's account."""
    state = state_root() / state_dir_name(url)
    before = {incident.id for incident in incidents(state)}
    # 2 visitors per site, 2 requests/s each: 4 req/s on the blog, besides watch's probes.
    with (
        VhostTraffic(url, names, max_seconds=150, max_requests=300) as traffic,
        watching(url, cwd),
    ):
        time.sleep(3)  # healthy traffic first
        broken_at = time.time()
        with seeded(docroot):
            opened = lambda: [i for i in incidents(state) if i.id not in before]  # noqa: E731
            wait_for(opened, 30, "no incident opened")
            (incident,) = opened()
            assert incident.first_error_at is not None
            delay = (incident.detected_at - incident.first_error_at).total_seconds()
            print(
                f"\nseed -> incident {incident.id} ({incident.trigger}): detected {delay:.2f} s "
                f"after the first failed request, "
                f"{incident.detected_at.timestamp() - broken_at:.2f} s after the fault"
            )
            assert delay <= 10.0
            assert incident.detected_at.timestamp() - broken_at <= 10.0
            # Repaired once diagnosed: the report's root cause is the diagnosis of the fault.
            wait_for(lambda: diagnosis_kinds(state, incident.id), 90, "no diagnosis")
        repaired_at = time.time()
        resolved = lambda: incidents(state)[-1].status == "resolved"  # noqa: E731
        wait_for(resolved, 60, "not resolved")
        print(f"repair -> resolved in {time.time() - repaired_at:.1f} s (healthy period 5 s)")
    return incidents(state)[-1], traffic
