"""The incident state machine: when an outage starts, and when it is over.

States: HEALTHY -> INCIDENT (open) -> HEALTHY (resolved). The thresholds and their defaults:

- **open** when either
  - one probed URL failed `probe_failures` times in a row (default 2; a failure is an HTTP
    status >= 500 or no answer within the probe timeout), or
  - the access log shows at least `error_rate` 5xx answers (default 5%) among the requests
    of the last `window` (default 30 s), counting only when there were at least
    `min_requests` of them (default 20), so that one error on a quiet site is not an outage;
- **resolved** when, for `healthy_for` (default 30 s) of observation since the incident opened
  (or since the watch restarted with it open), no probe failed and the 5xx share of the
  requests in that period stayed below `error_rate`, with evidence of health in it (a passing
  probe or a logged request: a dead server is silent too).
- **at a load balancer** (records naming the server that answered, HAProxy's runtime API
  stats: `watch.balancer`), also **open** when one backend's 5xx share over the window
  crosses `error_rate` (from `min_requests` of its answers), even when the site-wide share
  does not (one backend of twenty failing is 5% of the traffic); the title and the data
  name the failing backends (`failing_backends`, and `backends` with each one's counts).
  Not **resolved** while a backend still crosses it. The requests of a resolved incident are
  then forgotten, so that its failures cannot open the next one.

Two times are kept apart: `first_error_at`, when the first failing request or probe of the
episode happened (the access log's timestamp of the oldest 5xx in the window, or the first
failed probe of the streak), and `detected_at`, when the thresholds were crossed. Their
difference is the time to detect. On resolution `recovered_at` is the last failure seen
(the end of the outage) and `resolved_at` is when the healthy period was complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from premortem.accesslog import AccessRecord
from premortem.watch.alertmanager import ExternalAlert
from premortem.watch.balancer import ServerStat, StatsHistory, failing
from premortem.watch.probes import ProbeResult
from premortem.watch.window import RequestWindow, WindowCounts


@dataclass(frozen=True)
class Thresholds:
    probe_failures: int = 2
    error_rate: float = 0.05
    min_requests: int = 20
    window: timedelta = timedelta(seconds=30)
    healthy_for: timedelta = timedelta(seconds=30)

    def to_dict(self) -> dict[str, Any]:
        return {
            "probe_failures": self.probe_failures,
            "error_rate": self.error_rate,
            "min_requests": self.min_requests,
            "window_seconds": self.window.total_seconds(),
            "healthy_seconds": self.healthy_for.total_seconds(),
        }


@dataclass(frozen=True)
class Opened:
    trigger: str  # "probe", "error-rate", "backend" or "alertmanager"
    title: str
    first_error_at: datetime
    detected_at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Resolved:
    recovered_at: datetime
    resolved_at: datetime
    message: str


@dataclass
class _ProbeStreak:
    failures: int = 0
    first_failure: ProbeResult | None = None
    last: ProbeResult | None = None


@dataclass
class IncidentDetector:
    thresholds: Thresholds = field(default_factory=Thresholds)
    in_incident: bool = False
    # When the current incident was opened, or when the watch took over an open one.
    observing_since: datetime | None = None

    def __post_init__(self) -> None:
        span = max(self.thresholds.window, self.thresholds.healthy_for)
        self.window = RequestWindow(span)
        # HAProxy's per-server counters between successive `show stat` reads.
        self.stats = StatsHistory(span)
        self._streaks: dict[str, _ProbeStreak] = {}
        self._last_failed_probe: ProbeResult | None = None
        # Alerts from the user's own rules (Alertmanager) firing now, by fingerprint.
        self._alerts: dict[str, ExternalAlert] = {}

    def adopt_open_incident(self, now: datetime) -> None:
        """Continue an incident left open by a previous watch (restart, crash)."""
        self.in_incident = True
        self.observing_since = now

    def observe_probe(self, result: ProbeResult) -> None:
        streak = self._streaks.setdefault(result.url, _ProbeStreak())
        streak.last = result
        if result.ok:
            streak.failures = 0
            streak.first_failure = None
            return
        streak.failures += 1
        if streak.first_failure is None:
            streak.first_failure = result
        self._last_failed_probe = result

    def observe_alert(self, alert: ExternalAlert) -> None:
        if alert.firing:
            self._alerts[alert.fingerprint] = alert
        else:
            self._alerts.pop(alert.fingerprint, None)

    def observe_request(self, record: AccessRecord, seen_at: datetime) -> None:
        self.window.add(seen_at, record)

    def observe_backend_stats(
        self, now: datetime, servers: list[ServerStat]
    ) -> list[tuple[ServerStat, str]]:
        """One `show stat` read; returns the servers whose state changed (and the former)."""
        return self.stats.update(now, servers)

    def failing_backends(
        self, now: datetime, span: timedelta | None = None, min_requests: int | None = None
    ) -> list[str]:
        """The backends (servers) whose 5xx cross the thresholds over `span` (from
        `min_requests` of their answers: default the threshold's), in the log's view or the
        runtime API's."""
        t = self.thresholds
        span, least = span or t.window, min_requests or t.min_requests
        names = failing(self.window.per_server(now, span), least, t.error_rate)
        for name in failing(self.stats.per_server(now, span), least, t.error_rate):
            if name not in names:
                names.append(name)
        return names

    def backend_data(self, now: datetime) -> dict[str, Any]:
        """Each backend's counts over the window (log and runtime API) and its state."""
        span = self.thresholds.window
        logged, stats = self.window.per_server(now, span), self.stats.per_server(now, span)
        backends: dict[str, Any] = {}
        for name in sorted({*logged, *stats, *self.stats.states} - {"<NOSRV>"}):
            entry: dict[str, Any] = {}
            if name in logged:
                entry["log"] = {"requests": logged[name].total, "5xx": logged[name].failed}
            if name in stats:
                entry["stats"] = {"answers": stats[name].total, "failures": stats[name].failed}
            if name in self.stats.states:
                entry["state"] = self.stats.states[name].describe()
            backends[name] = entry
        return backends

    def counts(self, now: datetime) -> WindowCounts:
        return self.window.counts(now, self.thresholds.window)

    def evaluate(self, now: datetime, *, may_resolve: bool = True) -> Opened | Resolved | None:
        """Call after feeding observations; returns the transition that just happened, if any.

        `may_resolve=False` holds an open incident open (the watch passes it while its
        response, a diagnosis or a rollback, is still running).
        """
        self.window.prune(now)
        if not self.in_incident:
            return self._maybe_open(now)
        return self._maybe_resolve(now) if may_resolve else None

    def _maybe_open(self, now: datetime) -> Opened | None:
        t = self.thresholds
        failing = [s for s in self._streaks.values() if s.failures >= t.probe_failures]
        counts = self.counts(now)
        rate_crossed = counts.total >= t.min_requests and counts.rate >= t.error_rate
        backends = self.failing_backends(now)
        if not failing and not rate_crossed and not backends:
            return self._open_on_alert(now)
        first_times: list[datetime] = []
        first_5xx = self.window.first_failure(now)
        if first_5xx is not None:
            first_times.append(first_5xx.time)
        if not first_times and backends:  # seen in the runtime API's counters only
            first_times.append(self.stats.first_failure(now, t.window, backends) or now)
        for streak in failing:
            assert streak.first_failure is not None
            first_times.append(streak.first_failure.at)
        data: dict[str, Any] = {
            "window_requests": counts.total,
            "window_5xx": counts.failed,
            "window_seconds": t.window.total_seconds(),
            "thresholds": t.to_dict(),
        }
        if backends:
            trigger, title = "backend", self._backend_title(now, backends, counts)
            data["failing_backends"] = backends
            data["backends"] = self.backend_data(now)
        elif rate_crossed:
            trigger = "error-rate"
            title = (
                f"{counts.rate:.0%} of requests answered 5xx over the last "
                f"{t.window.total_seconds():g} s ({counts.failed} of {counts.total})"
            )
        else:
            trigger = "probe"
            streak = failing[0]
            assert streak.last is not None
            title = f"{streak.failures} failed probes in a row: {streak.last.describe()}"
        if not backends:
            title = self._name_culprits(now, title, data)
        if failing:
            data["failed_probes"] = [
                {"url": s.last.url, "status": s.last.status, "error": s.last.error}
                for s in failing
                if s.last is not None
            ]
        self.in_incident = True
        self.observing_since = now
        return Opened(trigger, title, min(first_times), now, data)

    def _backend_title(self, now: datetime, backends: list[str], counts: WindowCounts) -> str:
        """`web-02 failing behind the balancer: 100% of its answers 5xx (41 of 41) ...`."""
        logged = self.window.per_server(now, self.thresholds.window)
        stats = self.stats.per_server(now, self.thresholds.window)
        worst = logged.get(backends[0]) or stats.get(backends[0]) or WindowCounts(0, 0)
        names = ", ".join(backends)
        verb = "is" if len(backends) == 1 else "are"
        return (
            f"backend {names} {verb} failing behind the balancer: {worst.rate:.0%} of "
            f"{backends[0]}'s answers were 5xx over the last "
            f"{self.thresholds.window.total_seconds():g} s ({worst.failed} of {worst.total}); "
            f"{counts.failed} of {counts.total} requests site-wide"
        )

    def _name_culprits(self, now: datetime, title: str, data: dict[str, Any]) -> str:
        """Opened site-wide at a balancer whose backends each answered too few requests to
        count alone: the backends whose answers hold the 5xx are still named."""
        named = self.failing_backends(now, min_requests=1)
        if not named:
            return title
        data["failing_backends"] = named
        data["backends"] = self.backend_data(now)
        return f"{title}; 5xx from backend {', '.join(named)}"

    def _open_on_alert(self, now: datetime) -> Opened | None:
        """An alert of the user's own rules fires for the site: an incident like any other."""
        if not self._alerts:
            return None
        alerts = sorted(self._alerts.values(), key=lambda a: a.starts_at)
        self.in_incident = True
        self.observing_since = now
        return Opened(
            "alertmanager",
            alerts[0].describe(),
            min(alerts[0].starts_at, now),
            now,
            {"alerts": [{"name": a.name, "labels": a.labels} for a in alerts]},
        )

    def _maybe_resolve(self, now: datetime) -> Resolved | None:
        t = self.thresholds
        assert self.observing_since is not None
        if now - self.observing_since < t.healthy_for or self._alerts:
            return None
        horizon = now - t.healthy_for
        if any(s.last is not None and not s.last.ok for s in self._streaks.values()):
            return None
        if self._last_failed_probe is not None and self._last_failed_probe.at >= horizon:
            return None
        recent = self.window.counts(now, t.healthy_for)
        if recent.failed and recent.rate >= t.error_rate:
            return None
        # As for the whole site, any share of 5xx over error_rate holds a backend failing.
        if self.failing_backends(now, t.healthy_for, min_requests=1):
            return None
        probed = any(s.last is not None and s.last.at >= horizon for s in self._streaks.values())
        if not probed and recent.total == 0:
            return None  # silence is not health: a dead server writes no log lines either
        ends: list[datetime] = []
        last_5xx = self.window.last_failure()
        if last_5xx is not None:
            ends.append(last_5xx.time)
        if self._last_failed_probe is not None:
            ends.append(self._last_failed_probe.at)
        recovered = max(ends) if ends else self.observing_since
        self.in_incident = False
        self.observing_since = None
        # The failures of this incident must not open the next one.
        self.window.clear()
        self.stats.clear()
        self._last_failed_probe = None
        return Resolved(
            recovered_at=min(recovered, now),
            resolved_at=now,
            message=(
                f"healthy for {t.healthy_for.total_seconds():g} s: probes pass, "
                f"{recent.failed} of {recent.total} requests 5xx"
            ),
        )
