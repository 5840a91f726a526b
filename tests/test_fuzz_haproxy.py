"""Property tests of HAProxy's httplog lines (premortem.accesslog.haproxy) and of the block
scanner over them (premortem.accesslog.scan), in the style of test_fuzz_accesslog.py:

- a request written as HAProxy writes it (any syslog header HAProxy or rsyslog puts before
  it) parses back to the same facts;
- any line parses or gives None;
- over real HAProxy logs mutated (lines dropped, doubled, cut, nasty bytes put in), the block
  scanner counts exactly what the parser reads line by line (requests, 5xx, clients, per
  server)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fuzzing import any_input, as_bytes, clean, written
from premortem.accesslog import HAPROXY, SiteLog
from premortem.accesslog.haproxy import parse_haproxy_line
from premortem.accesslog.scan import Tally, Window, status_text, tally_file

_ASCII = {"codec": "ascii", "categories": ("L", "N")}
_NAME = st.text(st.characters(**_ASCII, include_characters="-_."), min_size=1, max_size=12)
_PATH = st.text(st.characters(**_ASCII, include_characters="/._-~%=&+?#"), max_size=40)
_HEADERS = (
    "",
    "<134>Nov 29 05:51:48 localhost haproxy[9769]: ",
    "<134>1 2026-11-29T05:51:53.102861+00:00 - haproxy 9897 - - ",
    "<6>",
    "Nov 29 05:51:48 lb-01 haproxy[9769]: ",
)


@pytest.fixture(autouse=True)
def utc() -> None:
    """HAProxy writes local time: these tests run in UTC (as the recorded lines were)."""
    import os

    os.environ["TZ"] = "UTC"
    time.tzset()


@given(
    st.sampled_from(_HEADERS),
    st.ip_addresses().map(str),
    st.datetimes(datetime(1971, 1, 2), datetime(2099, 12, 30)),
    _NAME,
    _NAME,
    st.one_of(st.just(-1), st.integers(100, 599)),
    st.integers(0, 10**12),
    st.sampled_from(("GET", "POST", "HEAD")),
    _PATH,
    st.booleans(),
)
def test_a_line_round_trips(
    header: str,
    client: str,
    when: datetime,
    backend: str,
    server: str,
    status: int,
    size: int,
    method: str,
    path: str,
    captured: bool,
) -> None:
    when = when.replace(microsecond=when.microsecond // 1000 * 1000)
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S") + f".{when.microsecond // 1000:03d}"
    captures = " {example.test|curl/8}" if captured else ""
    line = (
        f"{header}{client}:51000 [{stamp}] www {backend}/{server} 0/0/1/-1/+13 {status} {size} "
        f'- - ---- 8/8/3/1/0 0/0{captures} "{method} /{path} HTTP/1.1"'
    )
    record = parse_haproxy_line(line)
    assert record is not None, line
    assert (record.remote, record.backend, record.server, record.status, record.size) == (
        client,
        backend,
        server,
        status,
        size,
    )
    assert (record.method, record.path) == (method, "/" + path)
    assert record.time.replace(tzinfo=None) == when


@given(any_input("accesslog"))
@example("127.0.0.1:1 [29/Nov/2026:05:51:34.9x2] www web/s1 0/0/0/1/1 200 1 - - ---- 1/1/0/0/0 0/0")
def test_any_line_parses_or_is_none(text: str) -> None:
    for line in clean(text).splitlines() or [""]:
        record = parse_haproxy_line(line)
        assert record is None or record.server is not None


def _by_hand(text: str) -> Tally:
    tally = Tally()
    for line in as_bytes(text).decode("utf-8", "surrogateescape").split("\n"):
        record = parse_haproxy_line(line)
        if record is not None:
            tally.add_columns(
                [record.remote.encode("utf-8", "surrogateescape")],
                [int(record.time.timestamp())],
                [record.path.split("?", 1)[0].encode("utf-8", "surrogateescape")],
                [status_text(record.status)],
                [(record.server or "").encode("utf-8", "surrogateescape")],
            )
    return tally


@given(any_input("accesslog", 3000))
# Found by the fuzz profile: a no-break space was whitespace to the parser's \s only; a
# status 000 was 000 to the scanner and 0 to the parser; \x85 ended a line for one only.
@example("\xa0:0 [01/Nov/0001:00:00:00.000] 0 0/0 0/0/0/0/0 000 0 0 0 0000 0/0/0/0/0 0/0")
@example("\x85:0 [01/Nov/0001:00:00:00.000] 0 0/0 0/0/0/0/0 000 0 0 0 0000 0/0/0/0/0 0/0")
# ... and a client holding a byte that is not UTF-8 was two clients (U+FFFD on one path).
@example(
    "\udcff1.2.3.4:9 [29/Nov/2026:05:51:34.912] www web/s1 0/0/0/23/23 503 5 - - ---- "
    '1/1/0/0/0 0/0 "GET /x HTTP/1.1"'
)
def test_the_scanner_counts_what_the_parser_reads(text: str) -> None:
    with written({"haproxy.log": as_bytes(text)}) as base:
        tally = tally_file(base / "haproxy.log", SiteLog(HAPROXY), Window())
    expected = _by_hand(text)
    assert (tally.requests, tally.failed, tally.clients, tally.affected) == (
        expected.requests,
        expected.failed,
        expected.clients,
        expected.affected,
    )
    assert tally.per_server == expected.per_server
    assert tally.failed_per_server == expected.failed_per_server
    assert tally.statuses == expected.statuses
