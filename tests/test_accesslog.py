"""The access-log parser shared by diagnose and watch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from premortem.accesslog import parse_line, read_records

COMBINED = (
    '127.0.0.1 - - [26/Nov/2026:00:44:19 +0000] "GET /wp-login.php?x=1 HTTP/1.1" 500 2527 '
    '"http://127.0.0.1/" "curl/7.88.1"'
)


def test_combined_line() -> None:
    record = parse_line(COMBINED)
    assert record is not None
    assert (record.method, record.path, record.protocol) == ("GET", "/wp-login.php?x=1", "HTTP/1.1")
    assert record.status == 500 and record.size == 2527 and record.is_server_error
    assert record.time == datetime(2026, 11, 26, 0, 44, 19, tzinfo=UTC)
    assert record.referer == "http://127.0.0.1/" and record.user_agent == "curl/7.88.1"


def test_common_format_dash_size_user_and_extra_field() -> None:
    record = parse_line('10.0.0.1 - bob [26/Nov/2026:01:00:00 +0100] "POST / HTTP/1.0" 302 - 1234')
    assert record is not None
    assert record.user == "bob" and record.size == 0 and record.referer is None
    assert record.extra == "1234"


def test_garbage_request_and_malformed_lines() -> None:
    record = parse_line('1.2.3.4 - - [26/Nov/2026:00:00:00 +0000] "\\x16\\x03\\x01" 400 0 "-" "-"')
    assert record is not None and record.method == "" and record.status == 400
    assert parse_line("not a log line") is None
    assert parse_line('1.2.3.4 - - [99/Nov/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1') is None


def test_read_records_since(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(
        (COMBINED + "\n").encode()
        + b"junk \xff\xfe\n"
        + COMBINED.replace("00:44:19", "00:50:00").replace(" 500 ", " 200 ").encode()
        + b"\n"
    )
    assert [r.status for r in read_records(log)] == [500, 200]
    since = datetime(2026, 11, 26, 0, 45, tzinfo=UTC)
    assert [r.status for r in read_records(log, since=since)] == [200]
