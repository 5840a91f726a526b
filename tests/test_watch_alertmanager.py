"""Alertmanager as a source: its webhook payload (version 4) parsed strictly, a firing alert
about the site opening an incident that a diagnosis is attached to, and resolving after."""

from __future__ import annotations

import http.server
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from premortem.accesslog import parse_line
from premortem.errors import InputError
from premortem.ops.lab.procs import free_port, wait_listening
from premortem.store import open_store
from premortem.watch.alertmanager import AlertReceiver, parse_payload
from premortem.watch.detector import IncidentDetector, Opened, Resolved, Thresholds


def payload(status: str, site: str = "", **extra: object) -> dict[str, object]:
    labels = {"alertname": "HighLatency", "severity": "page", **({"site": site} if site else {})}
    return {
        "version": "4",
        "status": status,
        "receiver": "premortem-watch",
        "groupLabels": {"alertname": "HighLatency"},
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": "p99 latency over 2 s"},
                "startsAt": "2026-11-29T03:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "c0ffee",
                **extra,
            }
        ],
    }


def test_a_version_4_payload_gives_its_alerts() -> None:
    (alert,) = parse_payload(json.dumps(payload("firing")).encode())
    assert (alert.name, alert.firing, alert.fingerprint) == ("HighLatency", True, "c0ffee")
    assert alert.describe() == "alert HighLatency: p99 latency over 2 s"
    assert alert.starts_at == datetime(2026, 11, 29, 3, 0, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (json.dumps({"version": "3", "alerts": []}).encode(), "version 4"),
        (json.dumps({"version": "4", "alerts": {}}).encode(), "no list of alerts"),
        (json.dumps(payload("pending")).encode(), "neither firing nor resolved"),
        (json.dumps({"version": "4", "alerts": [7]}).encode(), "alert 0 is not an object"),
    ],
)
def test_anything_else_is_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_payload(body)


def test_only_alerts_about_this_site_are_taken() -> None:
    receiver = AlertReceiver(0, "http://blog.example/")
    alert_of = {
        site: parse_payload(json.dumps(payload("firing", site)).encode())[0]
        for site in ("http://blog.example", "http://shop.example/", "")
    }
    assert receiver.about_this_site(alert_of["http://blog.example"])
    assert not receiver.about_this_site(alert_of["http://shop.example/"])
    assert receiver.about_this_site(alert_of[""])


def test_a_firing_alert_opens_and_holds_an_incident_until_it_resolves() -> None:
    detector = IncidentDetector(Thresholds(healthy_for=timedelta(seconds=5)))
    now = datetime(2026, 11, 29, 3, 0, 10, tzinfo=UTC)
    (firing,) = parse_payload(json.dumps(payload("firing")).encode())
    (resolved,) = parse_payload(json.dumps(payload("resolved")).encode())
    assert detector.evaluate(now) is None
    detector.observe_alert(firing)
    opened = detector.evaluate(now)
    assert isinstance(opened, Opened) and opened.trigger == "alertmanager"
    assert opened.title == "alert HighLatency: p99 latency over 2 s"
    assert opened.first_error_at == firing.starts_at
    assert detector.evaluate(now + timedelta(seconds=60)) is None  # still firing
    detector.observe_alert(resolved)
    # Silence is not health: without a request or a probe the incident stays open.
    assert detector.evaluate(now + timedelta(seconds=61)) is None
    later = now + timedelta(seconds=62)
    ok = parse_line(f'127.0.0.1 - - [{later:%d/%b/%Y:%H:%M:%S +0000}] "GET / HTTP/1.1" 200 5')
    assert ok is not None
    detector.observe_request(ok, later)
    assert isinstance(detector.evaluate(later), Resolved)


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(b"<!DOCTYPE html><html><body>ok</body></html>")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def watch_with_receiver(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    page = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    url, port, state = f"http://127.0.0.1:{page.server_port}/", free_port(), tmp_path / "state"
    watch = subprocess.Popen(
        [sys.executable, "-m", "premortem", "watch", url, "--state-dir", str(state),
         "--alertmanager-webhook", str(port), "--interval", "1s", "--healthy", "2s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    try:
        assert wait_listening(port, timeout=20), "no receiver"
        yield f"http://127.0.0.1:{port}/alerts", state
    finally:
        watch.send_signal(signal.SIGTERM)
        watch.wait(timeout=20)
        page.shutdown()


def until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_an_alert_posted_by_alertmanager_opens_a_diagnosed_incident(
    watch_with_receiver: tuple[str, Path],
) -> None:
    receiver, state = watch_with_receiver
    refused = httpx.post(receiver, content=b'{"version": "3"}', trust_env=False)
    assert refused.status_code == 400 and "version 4" in refused.text
    taken = httpx.post(receiver, json=payload("firing"), trust_env=False)
    assert taken.status_code == 200 and "1 of 1" in taken.text

    def incidents(status: str) -> list[object]:
        with open_store(state) as store:
            return list(store.incidents(status=status))

    assert until(lambda: bool(incidents("open")), 10)
    with open_store(state) as store:
        (incident,) = store.incidents()
        assert (incident.trigger, incident.title) == (
            "alertmanager",
            "alert HighLatency: p99 latency over 2 s",
        )
    assert until(lambda: _diagnosed(state), 60), "no diagnosis attached"
    httpx.post(receiver, json=payload("resolved"), trust_env=False)
    assert until(lambda: bool(incidents("resolved")), 20)


def _diagnosed(state: Path) -> bool:
    with open_store(state) as store:
        return bool(store.events(kinds=["diagnosis"]))
