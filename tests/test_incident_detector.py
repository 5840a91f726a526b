"""The incident state machine: thresholds that must open, look-alikes that must not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from premortem.accesslog import AccessRecord, parse_line
from premortem.watch.detector import IncidentDetector, Opened, Resolved, Thresholds
from premortem.watch.probes import ProbeResult

T0 = datetime(2026, 10, 29, 17, 45, tzinfo=UTC)
URL = "http://127.0.0.1:8080/"


def record(status: int, at: datetime, path: str = "/", client: str = "10.0.0.1") -> AccessRecord:
    line = (
        f'{client} - - [{at:%d/%b/%Y:%H:%M:%S +0000}] "GET {path} HTTP/1.1" {status} 10 '
        '"-" "Mozilla/5.0"'
    )
    parsed = parse_line(line)
    assert parsed is not None
    return parsed


def probe(ok: bool, at: datetime) -> ProbeResult:
    return ProbeResult(URL, at, ok, 200 if ok else 500, 0.01)


def feed(detector: IncidentDetector, statuses: list[int], start: datetime) -> datetime:
    """One request every 100 ms; returns the time after the last one."""
    at = start
    for status in statuses:
        detector.observe_request(record(status, at), at)
        at += timedelta(milliseconds=100)
    return at


def test_two_consecutive_failed_probes_open_one_does_not() -> None:
    detector = IncidentDetector()
    detector.observe_probe(probe(False, T0))
    assert detector.evaluate(T0) is None
    detector.observe_probe(probe(True, T0 + timedelta(seconds=5)))
    detector.observe_probe(probe(False, T0 + timedelta(seconds=10)))
    assert detector.evaluate(T0 + timedelta(seconds=10)) is None
    detector.observe_probe(probe(False, T0 + timedelta(seconds=15)))
    opened = detector.evaluate(T0 + timedelta(seconds=15))
    assert isinstance(opened, Opened)
    assert opened.trigger == "probe"
    # The streak began at the failure of 10 s, not the isolated one at 0 s.
    assert opened.first_error_at == T0 + timedelta(seconds=10)
    assert opened.detected_at == T0 + timedelta(seconds=15)


def test_error_rate_opens_and_keeps_first_error_apart_from_detection() -> None:
    detector = IncidentDetector()
    now = feed(detector, [200] * 100, T0)
    assert detector.evaluate(now) is None
    first_failure = now
    now = feed(detector, [500] * 5, now)  # 5 of 105 = 4.8%: below 5%
    assert detector.evaluate(now) is None
    now = feed(detector, [500], now)  # 6 of 106 = 5.7%
    opened = detector.evaluate(now)
    assert isinstance(opened, Opened)
    assert opened.trigger == "error-rate"
    assert opened.first_error_at == first_failure.replace(microsecond=0)
    assert opened.detected_at == now
    assert opened.data["window_5xx"] == 6
    assert "6 of 106" in opened.title


def test_quiet_site_needs_min_requests() -> None:
    detector = IncidentDetector()
    now = feed(detector, [500] * 19, T0)
    assert detector.evaluate(now) is None  # 100% 5xx, but only 19 requests
    now = feed(detector, [500], now)
    assert isinstance(detector.evaluate(now), Opened)


def test_old_errors_leave_the_window() -> None:
    detector = IncidentDetector(Thresholds(window=timedelta(seconds=10)))
    now = feed(detector, [500] * 3, T0)
    assert detector.evaluate(now) is None  # too few requests to judge
    # Eleven seconds later: 1 error in 21 requests (4.8%) is below 5%; had the old burst
    # stayed in the window it would be 4 in 24 (17%).
    later = feed(detector, [200] * 20 + [500], now + timedelta(seconds=11))
    assert detector.evaluate(later) is None
    assert detector.counts(later).failed == 1


def test_resolves_only_after_a_healthy_period() -> None:
    thresholds = Thresholds(healthy_for=timedelta(seconds=10))
    detector = IncidentDetector(thresholds)
    now = feed(detector, [500] * 30, T0)
    assert isinstance(detector.evaluate(now), Opened)
    last_failure = now - timedelta(milliseconds=100)
    # Repaired: healthy traffic from now on, probes pass.
    for second in range(1, 10):
        moment = now + timedelta(seconds=second)
        feed(detector, [200] * 10, moment)
        detector.observe_probe(probe(True, moment))
        assert detector.evaluate(moment + timedelta(seconds=0.99)) is None, second
    moment = now + timedelta(seconds=10)
    feed(detector, [200] * 10, moment)
    resolved = detector.evaluate(moment + timedelta(seconds=0.99))
    assert isinstance(resolved, Resolved)
    assert resolved.recovered_at == last_failure.replace(microsecond=0)
    assert not detector.in_incident
    # The incident's own failures are still within 30 s, but must not open a new incident.
    later = feed(detector, [200] * 20, moment + timedelta(seconds=1))
    assert detector.evaluate(later) is None


def test_failing_probe_keeps_the_incident_open() -> None:
    detector = IncidentDetector(Thresholds(healthy_for=timedelta(seconds=5)))
    detector.observe_probe(probe(False, T0))
    detector.observe_probe(probe(False, T0 + timedelta(seconds=1)))
    assert isinstance(detector.evaluate(T0 + timedelta(seconds=1)), Opened)
    for second in range(2, 30):
        detector.observe_probe(probe(False, T0 + timedelta(seconds=second)))
        assert detector.evaluate(T0 + timedelta(seconds=second)) is None
    detector.observe_probe(probe(True, T0 + timedelta(seconds=30)))
    assert detector.evaluate(T0 + timedelta(seconds=31)) is None  # failed 2 s ago
    assert isinstance(detector.evaluate(T0 + timedelta(seconds=35)), Resolved)


def test_adopted_incident_resolves_after_a_healthy_period_since_restart() -> None:
    detector = IncidentDetector(Thresholds(healthy_for=timedelta(seconds=5)))
    detector.adopt_open_incident(T0)
    detector.observe_probe(probe(True, T0 + timedelta(seconds=1)))
    assert detector.evaluate(T0 + timedelta(seconds=4)) is None
    resolved = detector.evaluate(T0 + timedelta(seconds=5))
    assert isinstance(resolved, Resolved)


def test_silence_does_not_resolve_an_incident() -> None:
    detector = IncidentDetector(Thresholds(healthy_for=timedelta(seconds=5)))
    now = feed(detector, [500] * 25, T0)
    assert isinstance(detector.evaluate(now), Opened)
    # The server died: no more log lines, no probes configured. Nothing says it is healthy.
    assert detector.evaluate(now + timedelta(minutes=10)) is None
    later = feed(detector, [200] * 3, now + timedelta(minutes=10))
    assert isinstance(detector.evaluate(later), Resolved)
