"""The sliding window of recent requests read from the access log, and their 5xx rate.

Requests are placed in the window by the time the watch read them (its own clock), so a
request is "recent" even when the log's one-second timestamps lag or the server's clock
differs; the log's own timestamp is kept for reporting when the first failure happened.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from premortem.accesslog import AccessRecord


@dataclass(frozen=True)
class WindowCounts:
    total: int
    failed: int

    @property
    def rate(self) -> float:
        return self.failed / self.total if self.total else 0.0


class RequestWindow:
    """Requests seen in the last `span`; older ones are dropped as time passes."""

    def __init__(self, span: timedelta) -> None:
        self.span = span
        self._entries: deque[tuple[datetime, AccessRecord]] = deque()

    def add(self, seen_at: datetime, record: AccessRecord) -> None:
        self._entries.append((seen_at, record))

    def prune(self, now: datetime) -> None:
        horizon = now - self.span
        while self._entries and self._entries[0][0] < horizon:
            self._entries.popleft()

    def clear(self) -> None:
        self._entries.clear()

    def counts(self, now: datetime, span: timedelta | None = None) -> WindowCounts:
        """Requests and 5xx seen in the last `span` (default: the whole window)."""
        horizon = now - (span or self.span)
        total = failed = 0
        for seen_at, record in reversed(self._entries):
            if seen_at < horizon:
                break
            total += 1
            failed += record.status >= 500
        return WindowCounts(total, failed)

    def per_server(self, now: datetime, span: timedelta | None = None) -> dict[str, WindowCounts]:
        """Requests and 5xx of the last `span` by the server that answered (records of a load
        balancer's log; records that name no server are left out)."""
        horizon = now - (span or self.span)
        totals: dict[str, list[int]] = {}
        for seen_at, record in reversed(self._entries):
            if seen_at < horizon:
                break
            if record.server is None:
                continue
            entry = totals.setdefault(record.server, [0, 0])
            entry[0] += 1
            entry[1] += record.status >= 500
        return {name: WindowCounts(total, failed) for name, (total, failed) in totals.items()}

    def first_failure(self, now: datetime, server: str | None = None) -> AccessRecord | None:
        """The oldest 5xx still in the window (of `server`, when given)."""
        horizon = now - self.span
        for seen_at, record in self._entries:
            failed = seen_at >= horizon and record.status >= 500
            if failed and (server is None or record.server == server):
                return record
        return None

    def last_failure(self) -> AccessRecord | None:
        for _seen_at, record in reversed(self._entries):
            if record.status >= 500:
                return record
        return None
