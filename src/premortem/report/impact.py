"""The impact of an incident (or of any time range), measured from access logs.

`premortem impact` and `report` share this engine (`impact_of_logs`; the counting is
`accesslog.scan`: bisection on time, a block scanner, parallel chunks). It counts every
request whose log time falls in [window start, window end] (whole seconds, inclusive, as
the log's timestamps are whole seconds): requests, requests answered 5xx, the distinct
clients (remote addresses) and those who received at least one 5xx, the URLs with the most
failures, and requests and failures per minute. The current log and its rotated siblings
(`access.log.1`, `access.log.2.gz`, ...) are read, so a rotation during the incident loses
nothing. Lines are read in the site's format (`SiteLog`: combined unless the config says
otherwise), and of a log shared by several sites (Debian's other_vhosts_access.log) only the
site's count.

At a load balancer (HAProxy's log: `access_log_format = "haproxy"`), each request names the
server that answered, so the impact is also given per backend (`per_backend`: requests,
failed, clients affected, for each host, and `<NOSRV>` for HAProxy's own answers when no
server took the request), and `backend_error_series` gives each backend's 5xx share over time
for the report's per-backend chart.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from premortem.accesslog import AccessRecord, SiteLog
from premortem.accesslog.scan import Tally, Window, tally_file

_ROTATED = re.compile(r"^\.(\d+)(\.gz)?$")


def log_files(access_log: Path) -> list[Path]:
    """The access log and its rotated siblings, oldest first."""
    rotated: list[tuple[int, Path]] = []
    if access_log.parent.is_dir():
        for sibling in access_log.parent.iterdir():
            if not sibling.name.startswith(access_log.name):
                continue
            match = _ROTATED.match(sibling.name[len(access_log.name) :])
            if match:
                rotated.append((int(match.group(1)), sibling))
    ordered = [path for _n, path in sorted(rotated, reverse=True)]
    if access_log.exists():
        ordered.append(access_log)
    return ordered


def records_of(paths: list[Path], site_log: SiteLog | None = None) -> Iterator[AccessRecord]:
    """The site's records of these files (`site_log`: their format and, for a shared log,
    the site's lines; default combined)."""
    parse = (site_log or SiteLog()).parse
    for path in paths:
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    record = parse(line)
                    if record is not None:
                        yield record
        except (OSError, EOFError):
            continue  # an unreadable or damaged rotated file: measure what can be read


def whole_second(moment: datetime, *, up: bool = False) -> datetime:
    floor = moment.replace(microsecond=0)
    return floor + timedelta(seconds=1) if up and floor != moment else floor


@dataclass
class UrlImpact:
    path: str
    requests: int
    failed: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "requests": self.requests, "failed": self.failed}


@dataclass
class MinuteCount:
    minute: datetime
    requests: int
    failed: int

    def to_dict(self) -> dict[str, Any]:
        return {"minute": self.minute.isoformat(), "requests": self.requests, "failed": self.failed}


@dataclass
class BackendImpact:
    """One backend (server) of a load balancer's log."""

    name: str
    requests: int
    failed: int
    clients_affected: int

    @property
    def failed_percent(self) -> float:
        return 100.0 * self.failed / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": self.requests,
            "failed": self.failed,
            "failed_percent": round(self.failed_percent, 2),
            "clients_affected": self.clients_affected,
        }


@dataclass
class Impact:
    window_start: datetime
    window_end: datetime
    requests_total: int = 0
    requests_failed: int = 0
    clients_total: int = 0
    clients_affected: int = 0
    worst_urls: list[UrlImpact] = field(default_factory=list)
    status_counts: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    per_minute: list[MinuteCount] = field(default_factory=list)
    # A load balancer's log: per backend, by name (empty for a web server's own log).
    per_backend: list[BackendImpact] = field(default_factory=list)

    @property
    def duration_seconds(self) -> float:
        return (self.window_end - self.window_start).total_seconds()

    @property
    def failed_percent(self) -> float:
        return 100.0 * self.requests_failed / self.requests_total if self.requests_total else 0.0

    @property
    def clients_affected_percent(self) -> float:
        return 100.0 * self.clients_affected / self.clients_total if self.clients_total else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = self._dict()
        if self.per_backend:
            data["per_backend"] = [b.to_dict() for b in self.per_backend]
        return data

    def _dict(self) -> dict[str, Any]:
        return {
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "duration_seconds": self.duration_seconds,
            "requests_total": self.requests_total,
            "requests_failed": self.requests_failed,
            "failed_percent": round(self.failed_percent, 2),
            "clients_total": self.clients_total,
            "clients_affected": self.clients_affected,
            "clients_affected_percent": round(self.clients_affected_percent, 2),
            "worst_urls": [u.to_dict() for u in self.worst_urls],
            "status_counts": self.status_counts,
            "sources": self.sources,
            "per_minute": [m.to_dict() for m in self.per_minute],
        }


def measure_impact(
    access_log: Path,
    start: datetime,
    end: datetime,
    *,
    worst: int = 5,
    site_log: SiteLog | None = None,
) -> Impact:
    """Impact over [start, end], both widened to whole seconds, from the access log and its
    rotated siblings."""
    return impact_of_logs(log_files(access_log), start, end, worst=worst, site_log=site_log)


def impact_of_logs(
    paths: list[Path],
    start: datetime | None,
    end: datetime | None,
    *,
    worst: int = 5,
    site_log: SiteLog | None = None,
    workers: int | None = None,
) -> Impact:
    """Impact of these log files over [start, end] (None: from the first / to the last
    request logged), both widened to whole seconds."""
    window = Window(
        whole_second(start).timestamp() if start else None,
        whole_second(end, up=True).timestamp() if end else None,
    )
    tally = Tally()
    for path in paths:
        try:
            tally.merge(tally_file(path, site_log or SiteLog(), window, workers))
        except (OSError, EOFError):
            continue  # an unreadable or damaged rotated file: measure what can be read
    return _impact_of(tally, window, paths, worst, start or end)


def _impact_of(
    tally: Tally, window: Window, paths: list[Path], worst: int, moment: datetime | None
) -> Impact:
    zone = moment.tzinfo if moment is not None and moment.tzinfo else UTC
    first = window.start if window.start is not None else tally.first
    last = window.end if window.end is not None else tally.last
    impact = Impact(
        window_start=datetime.fromtimestamp(first or 0, zone),
        window_end=datetime.fromtimestamp(last or first or 0, zone),
        requests_total=tally.requests,
        requests_failed=tally.failed,
        clients_total=len(tally.clients),
        clients_affected=len(tally.affected),
        sources=[str(p) for p in paths],
    )
    impact.status_counts = {s.decode(): n for s, n in sorted(tally.statuses.items())}
    impact.worst_urls = [
        UrlImpact(_shown_path(path), tally.per_path[path], failed)
        for path, failed in tally.failed_per_path.most_common(worst)
    ]
    impact.per_minute = [
        MinuteCount(datetime.fromtimestamp(minute, zone), count, tally.failed_per_minute[minute])
        for minute, count in sorted(tally.per_minute.items())
    ]
    impact.per_backend = [
        BackendImpact(
            name.decode("utf-8", "replace"),
            count,
            tally.failed_per_server[name],
            len(tally.affected_per_server.get(name, ())),
        )
        for name, count in sorted(tally.per_server.items())
    ]
    return impact


def _shown_path(path: bytes) -> str:
    return path.decode("utf-8", "replace") or "/"


def error_rate_series(
    access_log: Path,
    start: datetime,
    end: datetime,
    buckets: int = 120,
    site_log: SiteLog | None = None,
) -> tuple[list[datetime], list[float], list[int]]:
    """(bucket starts, 5xx percent, requests) over [start, end] for the chart."""
    start, end = whole_second(start), whole_second(end, up=True)
    span = max((end - start).total_seconds(), 1.0)
    step = max(1.0, span / buckets)
    count = int(span // step) + 1
    totals = [0] * count
    failed = [0] * count
    for record in records_of(log_files(access_log), site_log):
        if not start <= record.time <= end:
            continue
        index = min(int((record.time - start).total_seconds() // step), count - 1)
        totals[index] += 1
        failed[index] += record.status >= 500
    times = [start + timedelta(seconds=i * step) for i in range(count)]
    rates = [100.0 * f / t if t else 0.0 for f, t in zip(failed, totals, strict=True)]
    return times, rates, totals


def backend_error_series(
    access_log: Path,
    start: datetime,
    end: datetime,
    buckets: int = 120,
    site_log: SiteLog | None = None,
) -> tuple[list[datetime], dict[str, list[float]]]:
    """(bucket starts, each backend's 5xx percent per bucket) over [start, end], from a load
    balancer's log (records naming their server); {} for a log that names none."""
    start, end = whole_second(start), whole_second(end, up=True)
    span = max((end - start).total_seconds(), 1.0)
    step = max(1.0, span / buckets)
    count = int(span // step) + 1
    totals: dict[str, list[int]] = {}
    failed: dict[str, list[int]] = {}
    for record in records_of(log_files(access_log), site_log):
        if record.server is None or not start <= record.time <= end:
            continue
        index = min(int((record.time - start).total_seconds() // step), count - 1)
        totals.setdefault(record.server, [0] * count)[index] += 1
        failed.setdefault(record.server, [0] * count)[index] += record.status >= 500
    times = [start + timedelta(seconds=i * step) for i in range(count)]
    rates = {
        name: [100.0 * f / t if t else 0.0 for f, t in zip(failed[name], totals[name], strict=True)]
        for name in sorted(totals)
    }
    return times, rates
