"""The logs collector: error-log lines around the replayed request, PHP messages, access statuses.

Reads the tail of the server's error log (and PHP's own error_log when it is separate, and
the database server's), parses Apache (``[time] [module:level] [pid N] [client ip:port]
message``), nginx (``2026/11/26 00:45:22 [error] 12#12: *1 ...``), PHP (``[26-Nov-2026
00:45:22 UTC] PHP ...``) and MariaDB (``2026-11-26  1:26:39 11 [Warning] Access denied ...``)
lines, and marks those that belong to the replayed request (same client port, or inside its
time window) and those of the incident's window (`fresh`: since `--since`, else the minute
before the first request): analyzers quote only those as a cause, never older history.
PHP messages are split into severity, text, file and line. The access log gives the status
of the replayed request and of recent ones, read in the site's format (a shared log's other
sites left out).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from premortem.accesslog import AccessRecord, SiteLog
from premortem.host import Host, LocalHost

TAIL_BYTES = 512 * 1024
RECENT = timedelta(minutes=15)
# The incident's window when --since does not say: errors logged this long before the
# request are part of what is failing now; older ones are history.
FRESH = timedelta(seconds=60)

_APACHE_RE = re.compile(
    r"^\[(?P<time>[A-Z][a-z]{2} [A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\] "
    r"\[(?:(?P<module>[^:\]]*):)?(?P<level>[a-z0-9]+)\] "
    r"(?:\[pid (?P<pid>\d{1,10})(?::tid \d+)?\] )?"
    r"(?:\[client (?P<client>[^\]]+)\] )?(?P<message>.*)$"
)
_NGINX_RE = re.compile(
    r"^(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>[a-z]+)\] (?P<pid>\d{1,10})#\d+: "
    r"(?:\*\d+ )?(?P<message>.*?)(?:, client: (?P<client>[^,]+).*)?$"
)
_PHP_RE = re.compile(
    r"^\[(?P<time>\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d)(?: [A-Za-z/_+-]+)?\] (?P<message>.*)$"
)
# MariaDB/MySQL's own error log: "2026-11-26  1:26:39 11 [Warning] Access denied for ...".
_MARIADB_RE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d +\d{1,2}:\d\d:\d\d) +\d+ \[(?P<level>[A-Za-z]+)\] "
    r"(?P<message>.*)$"
)
_PHP_MESSAGE_RE = re.compile(
    r"PHP (?P<severity>Fatal error|Parse error|Warning|Notice|Deprecated|Recoverable fatal error|"
    r"Catchable fatal error|Core error|Compile error):\s+(?P<text>.*)$"
)
# How nginx separates the PHP messages of one FastCGI stderr record in its error log.
_NGINX_PHP_SEPARATOR = "; PHP message: "
# Numbers ({1,10} digits) stay ints: int() refuses a string of over 4,300 digits.
_PHP_WHERE_RE = re.compile(
    r" in (?P<file>/\S+?)(?::(?P<line1>\d{1,10})| on line (?P<line2>\d{1,10}))\b"
)


@dataclass
class ErrorLine:
    source: str
    time: datetime | None
    level: str
    message: str
    raw: str
    module: str = ""
    pid: int | None = None
    client_port: int | None = None
    this_request: bool = False
    # Logged in the incident's window (a line without a time is not known to be).
    fresh: bool = False


@dataclass
class PhpMessage:
    severity: str
    text: str
    file: str | None
    line: int | None
    raw: str
    this_request: bool = False


@dataclass
class LogEvidence:
    error_logs: list[str] = field(default_factory=list)
    access_log: str | None = None
    lines: list[ErrorLine] = field(default_factory=list)
    php: list[PhpMessage] = field(default_factory=list)
    replay_record: AccessRecord | None = None
    recent_status_counts: dict[int, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    def request_lines(self) -> list[ErrorLine]:
        """Lines of the replayed request (same client port, or in its time window)."""
        return [line for line in self.lines if line.this_request]

    def fresh_lines(self) -> list[ErrorLine]:
        """Lines of the incident's window (the replayed request's among them)."""
        return [line for line in self.lines if line.fresh or line.this_request]

    def to_dict(self) -> dict[str, Any]:
        return {
            "error_logs": self.error_logs,
            "access_log": self.access_log,
            "lines": [
                {
                    "source": x.source,
                    "time": x.time.isoformat() if x.time else None,
                    "level": x.level,
                    "this_request": x.this_request,
                    "fresh": x.fresh,
                    "line": x.raw,
                }
                for x in self.lines[-50:]
            ],
            "php": [
                {
                    "severity": m.severity,
                    "text": m.text,
                    "file": m.file,
                    "line": m.line,
                    "this_request": m.this_request,
                }
                for m in self.php[-20:]
            ],
            "replay_status": self.replay_record.status if self.replay_record else None,
            "recent_status_counts": {
                str(k): v for k, v in sorted(self.recent_status_counts.items())
            },
            "unreadable": self.unreadable,
        }


def parse_error_line(raw: str, source: str = "") -> ErrorLine | None:
    raw = raw.rstrip("\r\n")
    match = _APACHE_RE.match(raw)
    if match:
        client = match.group("client") or ""
        port = client.rsplit(":", 1)[-1] if ":" in client else ""
        return ErrorLine(
            source=source,
            time=_parse_time(
                match.group("time"), "%a %b %d %H:%M:%S.%f %Y", "%a %b %d %H:%M:%S %Y"
            ),
            level=match.group("level"),
            module=match.group("module") or "",
            message=match.group("message"),
            raw=raw,
            pid=int(match.group("pid")) if match.group("pid") else None,
            client_port=int(port) if port.isascii() and port.isdigit() else None,
        )
    match = _NGINX_RE.match(raw)
    if match:
        return ErrorLine(
            source=source,
            time=_parse_time(match.group("time"), "%Y/%m/%d %H:%M:%S"),
            level=match.group("level"),
            message=match.group("message"),
            raw=raw,
            pid=int(match.group("pid")),
        )
    match = _MARIADB_RE.match(raw)
    if match:
        return ErrorLine(
            source=source,
            time=_parse_time(match.group("time"), "%Y-%m-%d %H:%M:%S"),
            level=match.group("level").lower(),
            module="mariadb",
            message=match.group("message"),
            raw=raw,
        )
    match = _PHP_RE.match(raw)
    if match:
        return ErrorLine(
            source=source,
            time=_parse_time(match.group("time"), "%d-%b-%Y %H:%M:%S"),
            level="php",
            message=match.group("message"),
            raw=raw,
        )
    return None


def parse_php_message(line: ErrorLine) -> PhpMessage | None:
    """The first PHP message of an error-log line (see `parse_php_messages`)."""
    return next(iter(parse_php_messages(line)), None)


def parse_php_messages(line: ErrorLine) -> list[PhpMessage]:
    """The PHP messages of an error-log line: one (Apache, PHP's own log), or several when
    nginx joined what PHP sent on one FastCGI stderr ("PHP message: PHP Warning: ...;
    PHP message: PHP Fatal error: ..."): a Warning first must not hide the Fatal error."""
    # Apache writes PHP's multi-line messages with literal "\n"; the first line has the point.
    first = line.message.replace("\\n", "\n").split("\n", 1)[0]
    messages = []
    for part in first.split(_NGINX_PHP_SEPARATOR):
        match = _PHP_MESSAGE_RE.search(part)
        if match is None:
            continue
        body = match.group("text").rstrip('"')
        where = _PHP_WHERE_RE.search(body)
        file = where.group("file") if where else None
        number = int(where.group("line1") or where.group("line2")) if where else None
        messages.append(
            PhpMessage(match.group("severity"), body, file, number, line.raw, line.this_request)
        )
    return messages


_BODY_MESSAGE_RE = re.compile(
    r"(?:<b>)?(?P<severity>Fatal error|Parse error|Warning|Recoverable fatal error)(?:</b>)?:"
    r"\s+(?P<text>.*?)(?=<br\s*/?>|\nStack trace:|$)",
    re.DOTALL,
)


def php_messages_in_body(body: str) -> list[PhpMessage]:
    """PHP errors shown in the page itself (display_errors on): the same facts as the log."""
    messages = []
    for match in _BODY_MESSAGE_RE.finditer(body):
        text = html.unescape(re.sub(r"</?b>", "", match.group("text"))).strip()
        text = " ".join(text.split())
        where = _PHP_WHERE_RE.search(text)
        file = where.group("file") if where else None
        number = int(where.group("line1") or where.group("line2")) if where else None
        raw = f"PHP {match.group('severity')}:  {text}"
        messages.append(PhpMessage(match.group("severity"), text, file, number, raw, True))
    return messages


def collect_logs(
    error_logs: list[str],
    access_log: str | None,
    *,
    request_start: float,
    request_end: float,
    client_port: int | None = None,
    request_path: str | None = None,
    now: float | None = None,
    site_log: SiteLog | None = None,
    incident_start: float | None = None,
    host: Host | None = None,
) -> LogEvidence:
    """Read the logs' tails; lines in [start-1s, end+2s] or with our client port are ours,
    lines since `incident_start` (default: FRESH before the request) are fresh.
    `site_log`: the access log's format and, for a shared log, the site's lines (default:
    combined). `host`: whose files (default: this machine's)."""
    host = host or LocalHost()
    evidence = LogEvidence(error_logs=[p for p in error_logs if p], access_log=access_log)
    fresh_since = datetime.fromtimestamp(
        incident_start if incident_start is not None else request_start - FRESH.total_seconds()
    )
    start = datetime.fromtimestamp(request_start) - timedelta(seconds=1)
    end = datetime.fromtimestamp(request_end) + timedelta(seconds=2)
    oldest = datetime.fromtimestamp(now if now is not None else request_end) - RECENT
    for path in evidence.error_logs:
        text = _tail(path, evidence, host)
        if text is None:
            continue
        for raw in text.splitlines():
            line = parse_error_line(raw, source=path)
            if line is None:
                continue
            if line.time is not None and line.time.tzinfo is not None:
                line.time = line.time.replace(tzinfo=None)
            if line.time is not None and line.time < oldest:
                continue
            if client_port is not None and line.client_port is not None:
                line.this_request = line.client_port == client_port and (
                    line.time is None or start <= line.time <= end
                )
            elif line.time is not None:
                line.this_request = start <= line.time <= end
            line.fresh = line.time is not None and fresh_since <= line.time <= end
            evidence.lines.append(line)
            evidence.php += parse_php_messages(line)
    if access_log:
        text = _tail(access_log, evidence, host)
        parse = (site_log or SiteLog()).parse
        if text is not None:
            since = datetime.fromtimestamp(request_end, tz=UTC) - RECENT
            for raw in text.splitlines():
                record = parse(raw)
                if record is None or record.time < since:
                    continue
                evidence.recent_status_counts[record.status] = (
                    evidence.recent_status_counts.get(record.status, 0) + 1
                )
                if (
                    request_path
                    and record.path == request_path
                    and (record.user_agent or "").startswith("premortem")
                ):
                    evidence.replay_record = record
    return evidence


def _tail(path: str, evidence: LogEvidence, host: Host) -> str | None:
    data, why = host.read_tail(path, TAIL_BYTES)
    if data is None:
        evidence.unreadable.append(f"{path}: {why}")
        return None
    return data.decode("utf-8", errors="replace")


def _parse_time(text: str, *formats: str) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(re.sub(r" +", " ", text), fmt)
        except ValueError:
            continue
    return None
