"""HAProxy's `option httplog` lines, as HAProxy writes them (to syslog, a file or stdout).

    127.0.0.1:39304 [29/Nov/2026:05:51:34.912] www web/web-02 0/0/0/23/23 500 2527 - - ----
    1/1/0/0/0 0/0 "GET /?p=1 HTTP/1.1"

(one line). The fields, HAProxy's default HTTP log format (``%ci:%cp [%tr] %ft %b/%s
%TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r``):
client ip:port, accept date (local time, milliseconds, no offset: HAProxy writes the
machine's local time), frontend, backend/server (``<NOSRV>`` when no server took the
request: a 503 of HAProxy's own, a bad request), the five timers (``-1``: the step did not
happen; ``+``: `option logasap`), status (``-1``: no answer, the client left), bytes read
(``+`` with logasap), request/response cookies, termination state, the five connection
counts, the two queues, captured headers (``{...}``, when configured) and the request line
quoted (``"<BADREQ>"`` for a request HAProxy could not parse; HAProxy writes a ``"`` in it
as ``#22``, and cuts a line longer than the log's `len`, losing the closing quote).

A line may start with what carried it: a syslog header (RFC 3164 ``<134>Nov 29 05:51:48
host haproxy[9769]: ``, RFC 5424 ``<134>1 2026-11-29T05:51:53.102861+00:00 - haproxy 9897
- - ``, ``short`` ``<6>``, or what rsyslog writes to a file, ``Nov 29 05:51:48 lb-01
haproxy[9769]: ``); the record is found after it. The time of a record is HAProxy's accept
date (the header's own time is when the line was logged, without a year).

`AccessRecord.server` is the server (`server NAME` of the backend: the fleet's host
names), `.backend` the backend; `extra` keeps the timers and the termination state.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from premortem.accesslog.record import AccessRecord, match_timed, split_request

# The record proper, wherever the syslog header (if any) ends.
HTTPLOG = re.compile(
    r"(?:^|(?<=[\s>]))(?P<client>[^\s<>\[\]]+):(?P<port>\d+) "
    r"\[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] "
    r"(?P<frontend>\S+) (?P<backend>[^\s/]+)/(?P<server>\S+) "
    r"(?P<timers>[-+\d]+/[-+\d]+/[-+\d]+/[-+\d]+/[-+\d]+) (?P<status>-1|\d{3}) "
    r"(?P<bytes>\+?\d+) \S+ \S+ (?P<termination>\S{4}) "
    r"\d+/\d+/\d+/\d+/\+?\d+ \d+/\d+"
    r"(?: \{[^}]*\})*"
    r'(?: "(?P<request>[^"]*)"?)?\s*$',
    # ASCII: \s and \d as HAProxy (and the bytes scanner) mean them, so that a no-break
    # space or an Arabic digit is not taken for a separator or a port.
    re.ASCII,
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
NO_SERVER = "<NOSRV>"


@lru_cache(maxsize=4096)
def _local_second(text: str) -> datetime | None:
    """`29/Nov/2026:05:51:34` (local time, as HAProxy writes it) -> aware datetime."""
    month = _MONTHS.get(text[3:6])
    if month is None:
        return None
    try:
        naive = datetime(
            int(text[7:11]),
            month,
            int(text[0:2]),
            int(text[12:14]),
            int(text[15:17]),
            int(text[18:20]),
        )
        return naive.astimezone()
    except (ValueError, OverflowError, OSError):
        return None


def parse_accept_date(text: str) -> datetime | None:
    """`29/Nov/2026:05:51:34.912` -> aware datetime (the machine's local zone)."""
    second = _local_second(text[:20])
    if second is None or len(text) != 24 or not text[21:].isdigit():
        return None
    return second.replace(microsecond=int(text[21:]) * 1000)


def accept_epoch(text: str) -> int | None:
    """The accept date's whole second as Unix seconds (what the block scanner counts)."""
    second = _local_second(text[:20])
    return int(second.timestamp()) if second is not None else None


def parse_haproxy_line(line: str) -> AccessRecord | None:
    """One HAProxy httplog line (with or without a syslog header) -> record; None if it
    is not one."""
    found = match_timed(HTTPLOG.search, line, parse_accept_date)
    if found is None:
        return None
    match, when = found
    request = match.group("request")
    method, path, protocol = split_request(request) if request else ("", "", "")
    return AccessRecord(
        remote=match.group("client"),
        time=when,
        method=method,
        path=path,
        protocol=protocol,
        status=int(match.group("status")),
        size=int(match.group("bytes").lstrip("+")),
        referer=None,
        user_agent=None,
        extra=f"{match.group('timers')} {match.group('termination')}",
        backend=match.group("backend"),
        server=match.group("server"),
    )
