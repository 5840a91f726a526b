"""Watching at the load balancer: HAProxy's runtime API (`show stat`) and per-backend counts.

In balancer mode (a fleet config: `[balancer]` in premortem.toml) the watch reads two views
of the same traffic:

- HAProxy's log (`option httplog`), whose records name the server that answered: the
  detector counts requests and 5xx per server in its window (`RequestWindow.per_server`);
- the runtime API socket, every `interval`: each server's state (UP, DOWN, MAINT, DRAIN,
  with the health check's verdict) and its counters (`hrsp_1xx`..`hrsp_other`, `hrsp_5xx`,
  `eresp`, `econ`). Their increase between two reads is the answers and failures of that
  second (`StatsHistory`); a counter that went down (HAProxy restarted) starts again.

A backend is *failing* when, over the window, at least `min_requests` of its answers were
counted and `error_rate` of them or more were 5xx (or connection/response errors), in
either view. Read-only: only `show stat` is sent.
"""

from __future__ import annotations

import csv
import io
import socket
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from premortem.errors import PremortemError
from premortem.watch.window import WindowCounts

_ANSWERS = ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")
_AGGREGATES = ("FRONTEND", "BACKEND")


@dataclass(frozen=True)
class ServerStat:
    """One server of the backend as `show stat` gives it (counters since HAProxy started)."""

    name: str
    status: str  # UP, DOWN, MAINT, DRAIN, "UP 1/2", "no check", ...
    check: str  # the last health check's status (L7OK, L4CON, ...), "" without checks
    answers: int  # responses of every class
    failures: int  # 5xx answers, connection and response errors
    sessions: int  # current sessions

    @property
    def up(self) -> bool:
        return self.status.startswith("UP") or self.status == "no check"

    def describe(self) -> str:
        return f"{self.name} {self.status}" + (f" ({self.check})" if self.check else "")


def parse_show_stat(text: str, backend: str) -> list[ServerStat]:
    """`show stat` CSV -> the servers of `backend` (not its FRONTEND/BACKEND rows)."""
    body = text.lstrip("# ")
    servers: list[ServerStat] = []
    for row in csv.DictReader(io.StringIO(body)):
        if row.get("pxname") != backend or row.get("svname") in _AGGREGATES:
            continue

        def number(key: str, row: dict[str, str] = row) -> int:
            value = (row.get(key) or "").strip()
            return int(value) if value.isascii() and value.isdigit() else 0

        servers.append(
            ServerStat(
                name=row.get("svname") or "",
                status=(row.get("status") or "").strip(),
                check=(row.get("check_status") or "").strip().lstrip("* "),
                answers=sum(number(key) for key in _ANSWERS),
                failures=number("hrsp_5xx") + number("eresp") + number("econ"),
                sessions=number("scur"),
            )
        )
    return servers


def read_stats(socket_path: str, backend: str, timeout: float = 2.0) -> list[ServerStat]:
    """The backend's servers, read from HAProxy's runtime API socket (`show stat`)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(socket_path)
            conn.sendall(b"show stat\n")
            chunks = []
            while chunk := conn.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        raise PremortemError(
            f"cannot read HAProxy's stats on {socket_path}: {exc.strerror or exc}"
        ) from None
    servers = parse_show_stat(b"".join(chunks).decode("utf-8", "replace"), backend)
    if not servers:
        raise PremortemError(
            f"HAProxy's stats on {socket_path} list no server of backend {backend}"
        )
    return servers


class StatsHistory:
    """Per-server answers and failures between successive `show stat` reads, kept `span`."""

    def __init__(self, span: timedelta) -> None:
        self.span = span
        self._last: dict[str, ServerStat] = {}
        self._samples: deque[tuple[datetime, str, int, int]] = deque()
        self.states: dict[str, ServerStat] = {}

    def update(self, now: datetime, servers: list[ServerStat]) -> list[tuple[ServerStat, str]]:
        """Add one read; returns the servers whose state changed, with their former state."""
        changed = []
        for server in servers:
            before = self._last.get(server.name)
            if before is not None:
                answers = server.answers - before.answers
                failures = server.failures - before.failures
                if answers >= 0 and failures >= 0 and (answers or failures):
                    self._samples.append((now, server.name, answers, failures))
                if before.status != server.status:
                    changed.append((server, before.status))
            self._last[server.name] = server
            self.states[server.name] = server
        horizon = now - self.span
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        return changed

    def per_server(self, now: datetime, span: timedelta) -> dict[str, WindowCounts]:
        """Answers and failures of each server over the last `span`."""
        horizon = now - span
        totals: dict[str, list[int]] = {}
        for at, name, answers, failures in self._samples:
            if at >= horizon:
                entry = totals.setdefault(name, [0, 0])
                entry[0] += answers
                entry[1] += failures
        # Failures without an answer (connection errors) still count as requests.
        return {name: WindowCounts(max(a, f), f) for name, (a, f) in totals.items()}

    def first_failure(self, now: datetime, span: timedelta, names: list[str]) -> datetime | None:
        """When the first read of the window that counted failures of `names` was made."""
        horizon = now - span
        for at, name, _answers, failures in self._samples:
            if at >= horizon and failures and name in names:
                return at
        return None

    def clear(self) -> None:
        self._samples.clear()


def failing(counts: dict[str, WindowCounts], min_requests: int, error_rate: float) -> list[str]:
    """The servers whose failures cross the thresholds, worst first."""
    crossed = [
        (c.rate, name)
        for name, c in counts.items()
        if name != "<NOSRV>" and c.total >= min_requests and c.failed and c.rate >= error_rate
    ]
    return [name for _rate, name in sorted(crossed, key=lambda item: (-item[0], item[1]))]
