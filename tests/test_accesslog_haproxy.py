"""HAProxy's `option httplog` lines (premortem.accesslog.haproxy) over lines a real HAProxy
2.6 wrote (tests/fixtures/accesslog/logs/haproxy-httplog.log: `log stdout` in the raw,
rfc3164, rfc5424 and short formats, and rsyslog's file format), and the engine over them:
read_records, the block scanner and bisection of `accesslog.scan`, `premortem impact`."""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from premortem.accesslog import HAPROXY, AccessLogFormat, SiteLog, read_records
from premortem.accesslog.haproxy import parse_haproxy_line
from premortem.accesslog.scan import Tally, Window, tally_file
from premortem.cli import cli

FIXTURE = Path(__file__).parent / "fixtures/accesslog/logs/haproxy-httplog.log"


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """HAProxy logs local time without an offset: the recorded lines are from a UTC host."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def _lines() -> list[str]:
    return FIXTURE.read_text().splitlines()


def test_every_recorded_line_is_a_record() -> None:
    records = [parse_haproxy_line(line) for line in _lines()]
    assert None not in records
    assert len(records) == 16


def test_fields_of_a_raw_line() -> None:
    record = parse_haproxy_line(_lines()[1])
    assert record is not None
    assert (record.remote, record.backend, record.server, record.status, record.size) == (
        "127.0.0.1",
        "web",
        "s2",
        503,
        217,
    )
    assert (record.method, record.path, record.protocol) == ("GET", "/x?a=2", "HTTP/1.1")
    assert record.time.isoformat() == "2026-11-29T05:51:34.972000+00:00"
    assert record.extra == "0/0/-1/-1/3004 SC--"


@pytest.mark.parametrize(
    ("index", "path"),
    [(4, "/rfc3164%22q?x=#22y"), (6, "/rfc5424%22q?x=#22y"), (8, "/short%22q?x=#22y")],
)
def test_syslog_headers_are_skipped(index: int, path: str) -> None:
    record = parse_haproxy_line(_lines()[index])
    assert record is not None and record.path == path and record.server == "s1"
    # The time is HAProxy's accept date, not the header's (logged 3 s later for index 5).
    later = parse_haproxy_line(_lines()[index + 1])
    assert later is not None and later.time - record.time < timedelta(seconds=1)


def test_odd_lines_haproxy_writes() -> None:
    by_index = {i: parse_haproxy_line(line) for i, line in enumerate(_lines())}
    bad, nosrv, ipv6, logasap, aborted, cut = (by_index[i] for i in range(10, 16))
    assert bad is not None and (bad.server, bad.path, bad.status) == ("<NOSRV>", "<BADREQ>", 400)
    assert nosrv is not None and (nosrv.backend, nosrv.server) == ("web", "<NOSRV>")
    assert ipv6 is not None and (ipv6.remote, ipv6.server, ipv6.path) == (
        "2001:db8::1",
        "web-02",
        "/?p=1",
    )
    assert logasap is not None and logasap.size == 8123
    assert aborted is not None and aborted.status == -1
    assert cut is not None and cut.status == 200 and cut.path.endswith("haproxy-len")


@pytest.mark.parametrize(
    "line",
    [
        "",
        '127.0.0.1 - - [29/Nov/2026:05:51:34 +0000] "GET / HTTP/1.1" 200 1',
        "[NOTICE]   (9656) : New worker (9658) forked",
        "127.0.0.1:1 [29/Nov/2026:05:51:34.912] www web/s1 0/0/0/1/1 200 1 - - ---- 1/1/0/0",
        "127.0.0.1:1 [31/Foo/2026:05:51:34.912] www web/s1 0/0/0/1/1 200 1 - - ---- 1/1/0/0/0 0/0",
    ],
)
def test_what_is_not_an_httplog_line(line: str) -> None:
    assert parse_haproxy_line(line) is None


def test_the_format_by_its_spec() -> None:
    assert AccessLogFormat.from_spec("haproxy") is HAPROXY
    assert HAPROXY.spec == "haproxy" and HAPROXY.logs_server and not HAPROXY.logs_vhost


def _by_hand(lines: list[str], start: float | None = None, end: float | None = None) -> Tally:
    """What the scanner must count, from the parser line by line."""
    tally = Tally()
    for line in lines:
        record = parse_haproxy_line(line)
        if record is None:
            continue
        epoch = int(record.time.timestamp())
        if (start is not None and epoch < start) or (end is not None and epoch > end):
            continue
        tally.add_columns(
            [record.remote.encode()],
            [epoch],
            [record.path.split("?", 1)[0].encode()],
            [str(record.status).encode()],
            [(record.server or "").encode()],
        )
    return tally


def _same(a: Tally, b: Tally) -> None:
    for name in ("requests", "failed", "clients", "affected", "per_path", "statuses"):
        assert getattr(a, name) == getattr(b, name), name
    assert (a.per_server, a.failed_per_server) == (b.per_server, b.failed_per_server)
    assert a.affected_per_server == b.affected_per_server


def test_the_block_scanner_counts_what_the_parser_reads() -> None:
    _same(tally_file(FIXTURE, SiteLog(HAPROXY), Window()), _by_hand(_lines()))


def _big_log(path: Path, seconds: int = 600) -> list[str]:
    """A busy balancer's log: 3 servers, web-02 failing from second 200 to 320."""
    start = datetime(2026, 11, 29, 6, 0, 0).astimezone()
    lines = []
    for second in range(seconds):
        moment = start + timedelta(seconds=second)
        for n in range(20):
            server = f"web-0{n % 3 + 1}"
            status = 500 if server == "web-02" and 200 <= second < 320 else 200
            stamp = moment.strftime("%d/%b/%Y:%H:%M:%S") + f".{n * 37:03d}"
            lines.append(
                f"10.0.0.{n}:{40000 + n} [{stamp}] www web/{server} 0/0/0/3/3 {status} 512 "
                f'- - ---- 8/8/3/1/0 0/0 "GET /p{n % 4}?q={second} HTTP/1.1"'
            )
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_a_window_is_bisected_and_counted_exactly(tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    lines = _big_log(log)
    origin = datetime(2026, 11, 29, 6, 0, 0).astimezone().timestamp()
    window = Window(origin + 190, origin + 330)
    tally = tally_file(log, SiteLog(HAPROXY), window)
    _same(tally, _by_hand(lines, window.start, window.end))
    assert tally.failed == 120 * 7 and tally.failed_per_server == Counter({b"web-02": 840})
    # Parallel chunks (forked workers) count the same.
    parallel = tally_file(log, SiteLog(HAPROXY), window, workers=2)
    _same(parallel, tally)


def test_read_records_and_premortem_impact(tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    _big_log(log, 60)
    records = list(read_records(log, site_log=SiteLog(HAPROXY)))
    assert len(records) == 1200 and {r.server for r in records} == {"web-01", "web-02", "web-03"}
    result = CliRunner().invoke(
        cli,
        ["impact", str(log), "--access-log-format", "haproxy", "--format", "json"],
        env={"TZ": os.environ["TZ"]},
    )
    assert result.exit_code == 0, result.output
    impact = json.loads(result.output)
    assert impact["requests_total"] == 1200 and impact["requests_failed"] == 0


def test_impact_as_text_has_the_per_backend_table(tmp_path: Path) -> None:
    log = tmp_path / "haproxy.log"
    _big_log(log)
    result = CliRunner().invoke(
        cli, ["impact", str(log), "--access-log-format", "haproxy"], env={"TZ": os.environ["TZ"]}
    )
    assert result.exit_code == 0, result.output
    assert "per backend" in result.output
    rows = {}
    for line in result.output.splitlines():
        cells = re.split(r"\s*[│|]\s*", line.strip())
        if cells[0].startswith("web-0"):
            rows[cells[0]] = cells[1:]
    # 7 of every 20 requests a second went to web-02; it failed them for 120 of 600 s.
    assert rows["web-02"] == ["4200", "840 (20.0%)", "7"]
    assert rows["web-01"][1] == rows["web-03"][1] == "0 (0.0%)"
