"""The impact of an incident, measured from the access log over its window.

Counts every request whose log time falls in [window start, window end] (whole seconds,
inclusive, as the log's timestamps are whole seconds): requests, requests answered 5xx, the
distinct clients (remote addresses) and those who received at least one 5xx, and the URLs
with the most failures. The current log and its rotated siblings (`access.log.1`,
`access.log.2.gz`, ...) are read, so a rotation during the incident loses nothing. Lines
are read in the site's format (`SiteLog`: combined unless the config says otherwise), and
of a log shared by several sites (Debian's other_vhosts_access.log) only the site's count.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from premortem.accesslog import AccessRecord, SiteLog

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
        }


def measure_impact(
    access_log: Path,
    start: datetime,
    end: datetime,
    *,
    worst: int = 5,
    site_log: SiteLog | None = None,
) -> Impact:
    """Impact over [start, end], both widened to whole seconds."""
    impact = Impact(window_start=whole_second(start), window_end=whole_second(end, up=True))
    paths = log_files(access_log)
    impact.sources = [str(p) for p in paths]
    clients: set[str] = set()
    affected: set[str] = set()
    per_url: Counter[str] = Counter()
    failed_per_url: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for record in records_of(paths, site_log):
        if not impact.window_start <= record.time <= impact.window_end:
            continue
        impact.requests_total += 1
        clients.add(record.remote)
        path = record.path.split("?", 1)[0] or "/"
        per_url[path] += 1
        statuses[str(record.status)] += 1
        if record.status >= 500:
            impact.requests_failed += 1
            affected.add(record.remote)
            failed_per_url[path] += 1
    impact.clients_total = len(clients)
    impact.clients_affected = len(affected)
    impact.status_counts = dict(sorted(statuses.items()))
    impact.worst_urls = [
        UrlImpact(path, per_url[path], failed) for path, failed in failed_per_url.most_common(worst)
    ]
    return impact


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
