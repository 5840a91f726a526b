"""A real Prometheus (Debian's) scrapes a real `premortem watch` with the shipped alerting
rules: the open-incident metric goes to 1 when the site breaks, the rule fires, and the
metric goes back to 0 when the site recovers. Everything on 127.0.0.1, stopped at the end."""

from __future__ import annotations

import http.server
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from premortem.ops.lab.procs import free_port, wait_listening

pytestmark = pytest.mark.lab

CONTRIB = Path(__file__).resolve().parents[1] / "contrib" / "prometheus"


class Ok(http.server.BaseHTTPRequestHandler):
    """The site's probed page: always fine (the access log is what breaks)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<!DOCTYPE html><html><body>ok</body></html>")

    def log_message(self, *_args: object) -> None:
        pass


class Traffic(threading.Thread):
    """Appends 20 lines a second to the access log; `failing` makes them answer 500."""

    def __init__(self, log: Path) -> None:
        super().__init__(daemon=True)
        self.log = log
        self.failing = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        with self.log.open("a") as out:
            while not self.stopped.is_set():
                status = 500 if self.failing.is_set() else 200
                stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
                line = f'127.0.0.1 - - [{stamp}] "GET / HTTP/1.1" {status} 10 "-" "t"\n'
                out.write(line * 2)
                out.flush()
                time.sleep(0.1)


def start(*command: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Traffic, str, str]]:
    log, metrics_port, prometheus_port = tmp_path / "access.log", free_port(), free_port()
    page = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    site = f"http://127.0.0.1:{page.server_port}/"
    log.write_text("")
    shutil.copy(CONTRIB / "premortem-alerts.yml", tmp_path)
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "rule_files: [premortem-alerts.yml]\n"
        "scrape_configs:\n  - job_name: premortem\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
    )
    config = tmp_path / "premortem.toml"
    config.write_text(
        f'url = "{site}"\nsmoke_paths = ["/"]\n'
        f'site_root = "{tmp_path}/site"\ndocroot = "{tmp_path}/site"\n'
        f'access_log = "{log}"\nstate_dir = "{tmp_path}/state"\n'
    )
    watch = start(
        sys.executable, "-m", "premortem", "watch", "--config", str(config),
        "--metrics-port", str(metrics_port), "--no-auto-diagnose", "--window", "3s",
        "--min-requests", "5", "--healthy", "3s", "--interval", "2s",
        cwd=tmp_path,
    )  # fmt: skip
    prometheus = start(
        "prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{prometheus_port}",
        cwd=tmp_path,
    )  # fmt: skip
    traffic = Traffic(log)
    try:
        assert wait_listening(metrics_port, timeout=20), "watch serves no metrics"
        assert wait_listening(prometheus_port, timeout=30), "prometheus did not start"
        traffic.start()
        yield traffic, f"http://127.0.0.1:{prometheus_port}", site
    finally:
        traffic.stopped.set()
        stop(prometheus)
        stop(watch)
        page.shutdown()


def until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


def open_incidents(prometheus: str, site: str) -> str | None:
    """premortem_open_incidents of the watched site as Prometheus has it (None: no sample)."""
    answer = httpx.get(
        f"{prometheus}/api/v1/query",
        params={"query": f'premortem_open_incidents{{site="{site}"}}'},
        trust_env=False,
    ).json()
    results = answer["data"]["result"]
    return results[0]["value"][1] if results else None


def firing(prometheus: str) -> set[str]:
    alerts = httpx.get(f"{prometheus}/api/v1/alerts", trust_env=False).json()["data"]["alerts"]
    return {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}


def test_prometheus_sees_the_incident_open_and_close(
    watched: tuple[Traffic, str, str],
) -> None:
    traffic, prometheus, site = watched

    def metric() -> str | None:
        return open_incidents(prometheus, site)

    assert until(lambda: metric() == "0", 30), "no healthy sample scraped"
    traffic.failing.set()
    assert until(lambda: metric() == "1", 30), metric()
    assert until(lambda: "PremortemIncidentOpen" in firing(prometheus), 20), firing(prometheus)
    traffic.failing.clear()
    assert until(lambda: metric() == "0", 40), metric()
