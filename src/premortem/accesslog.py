"""Parser of Apache/nginx access-log lines in the common and combined formats.

    127.0.0.1 - - [26/Nov/2026:00:44:19 +0000] "GET / HTTP/1.1" 500 2527 "-" "curl/7.88.1"

`parse_line(line)` gives an :class:`AccessRecord` or ``None`` for lines that are not in
that format; `read_records(path, since=None)` yields the records of a file (optionally only
those at or after `since`), skipping malformed lines. An optional trailing field (for example
``%D`` request time in microseconds or nginx's ``$request_time``) is kept as `extra`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_LINE_RE = re.compile(
    r"^(?P<remote>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<size>\d+|-)'
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?'
    r"(?P<extra>.*)$"
)
_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"


@dataclass(frozen=True)
class AccessRecord:
    remote: str
    time: datetime
    method: str
    path: str
    protocol: str
    status: int
    size: int
    referer: str | None
    user_agent: str | None
    user: str | None = None
    extra: str = ""

    @property
    def is_server_error(self) -> bool:
        return self.status >= 500


def parse_line(line: str) -> AccessRecord | None:
    """One access-log line -> record; None if the line is not common/combined format."""
    match = _LINE_RE.match(line.rstrip("\r\n"))
    if match is None:
        return None
    try:
        when = datetime.strptime(match.group("time"), _TIME_FORMAT)
    except ValueError:
        return None
    request = match.group("request")
    parts = request.split(" ")
    if len(parts) == 3:
        method, path, protocol = parts
    else:
        # Garbage requests ("-", a TLS handshake on a plain port) are still records.
        method, path, protocol = "", request, ""
    size = match.group("size")
    user = match.group("user")
    return AccessRecord(
        remote=match.group("remote"),
        time=when,
        method=method,
        path=path,
        protocol=protocol,
        status=int(match.group("status")),
        size=0 if size == "-" else int(size),
        referer=_none_if_dash(match.group("referer")),
        user_agent=_none_if_dash(match.group("agent")),
        user=None if user == "-" else user,
        extra=match.group("extra").strip(),
    )


def read_records(path: Path | str, since: datetime | None = None) -> Iterator[AccessRecord]:
    """Records of an access log, oldest first; undecodable bytes and bad lines are skipped.

    `since` must be timezone-aware (log times carry their offset).
    """
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            record = parse_line(line)
            if record is None:
                continue
            if since is not None and record.time < since:
                continue
            yield record


def _none_if_dash(value: str | None) -> str | None:
    return None if value in (None, "-") else value
