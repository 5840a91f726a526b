"""Access-log formats as the servers write them: Apache LogFormat, nginx log_format (JSON
included), and one site's lines out of Debian's shared other_vhosts_access.log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from premortem.accesslog import (
    COMBINED,
    DEBIAN_APACHE_FORMATS,
    NGINX_COMBINED,
    AccessLogFormat,
    SiteFilter,
    SiteLog,
    parse_line,
    read_records,
)

LOGS = Path(__file__).parent / "fixtures" / "accesslog" / "logs"
VHOST_COMBINED = AccessLogFormat.apache(DEBIAN_APACHE_FORMATS["vhost_combined"])
NGINX_JSON = AccessLogFormat.nginx(
    '{"time":"$time_iso8601","remote":"$remote_addr","request":"$request","status":$status,'
    '"bytes":$body_bytes_sent,"referer":"$http_referer","agent":"$http_user_agent",'
    '"host":"$host","port":"$server_port","request_time":$request_time}',
    escape="json",
)


def lines_of(name: str) -> list[str]:
    return (LOGS / name).read_text().splitlines()


def test_vhost_combined_reads_debian_other_vhosts_lines() -> None:
    first, *_ = lines_of("other_vhosts_access.log")
    assert parse_line(first) is None  # the combined parser cannot read it
    record = VHOST_COMBINED.parse(first)
    assert record is not None
    assert (record.vhost, record.port, record.remote) == ("blog.example", 8080, "127.0.0.1")
    assert (record.method, record.path, record.protocol) == ("GET", "/", "HTTP/1.1")
    assert record.time == datetime(2026, 11, 26, 10, 0, 1, tzinfo=UTC)
    assert record.status == 200 and record.size == 5120 and record.referer is None
    assert record.user_agent == "Mozilla/5.0 (X11; Linux x86_64)"


def test_ipv6_clients_escaped_quotes_dash_sizes_and_garbage_requests() -> None:
    lines = lines_of("other_vhosts_access.log")
    records = [VHOST_COMBINED.parse(line) for line in lines]
    login = records[2]
    assert login is not None
    assert (login.remote, login.user, login.size) == ("2001:db8::5", "alice", 0)
    assert login.user_agent == 'Mozilla/5.0 \\"quoted\\" agent'  # as Apache escaped it
    handshake, search, timeout = records[5], records[6], records[8]
    assert handshake is not None and handshake.method == "" and handshake.status == 400
    assert handshake.path.startswith("\\x16\\x03")
    assert search is not None and search.path == '/search?q=\\"x\\"\\\\'
    assert search.user_agent == 'sqlmap/1.7 \\\\\\"ua\\\\\\"'
    assert timeout is not None and (timeout.method, timeout.path, timeout.status) == ("", "-", 408)
    assert records[-1] is None  # a line cut short


def test_other_vhosts_log_keeps_only_the_sites_lines() -> None:
    blog = SiteLog(VHOST_COMBINED, SiteFilter({"Blog.Example", "www.blog.example"}, 8080))
    records = [r for r in map(blog.parse, lines_of("other_vhosts_access.log")) if r]
    assert [r.status for r in records] == [200, 500, 400, 404, 408]
    assert {(r.vhost, r.port) for r in records} == {("blog.example", 8080)}
    wiki = SiteLog(VHOST_COMBINED, SiteFilter({"wiki.example"}, None))
    assert [r.status for r in map(wiki.parse, lines_of("other_vhosts_access.log")) if r] == [
        500,
        200,
    ]
    by_port = SiteLog(VHOST_COMBINED, SiteFilter((), 80))
    assert len([r for r in map(by_port.parse, lines_of("other_vhosts_access.log")) if r]) == 3


def test_site_names_are_matched_like_the_servers_match_them() -> None:
    site = SiteFilter({"blog.example", "*.blog.example", ".shop.example", "~^api\\d+\\.example$"})
    line = '{} 1.2.3.4 - - [26/Nov/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-"'
    for name, kept in [
        ("BLOG.example:80", True),
        ("img.blog.example:80", True),
        ("shop.example:80", True),
        ("a.shop.example:80", True),
        ("api7.example:80", True),
        ("blog.example.evil:80", False),
        ("wiki.example:80", False),
    ]:
        record = VHOST_COMBINED.parse(line.format(name))
        assert record is not None and site.keeps(record) is kept, name


def test_a_log_that_does_not_say_where_is_the_sites_own() -> None:
    own = SiteLog(COMBINED, SiteFilter({"blog.example"}, 8080))
    line = '127.0.0.1 - - [26/Nov/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 1 "-" "-"'
    assert own.parse is COMBINED.parse and own.parse(line) is not None


def test_nginx_json_lines_are_read_as_json() -> None:
    ok, failed, handshake, cut, not_json = map(NGINX_JSON.parse, lines_of("nginx-json.log"))
    assert ok is not None and (ok.vhost, ok.port, ok.status, ok.size) == (
        "blog.example",
        8081,
        200,
        5120,
    )
    assert ok.time == datetime(2026, 11, 26, 10, 0, 1, tzinfo=UTC) and ok.referer is None
    assert failed is not None and failed.remote == "2001:db8::5" and failed.status == 502
    assert failed.path == '/?q="x"\\' and failed.user_agent == 'curl "7"'  # json.loads decoded
    assert failed.referer == "http://blog.example:8081/"
    assert handshake is not None and handshake.method == "" and handshake.vhost is None
    assert cut is None and not_json is None


def test_a_json_value_made_of_several_variables_is_split() -> None:
    fmt = AccessLogFormat.nginx(
        '{"@t":$msec,"req":{"line":"$request_method $uri?$args","proto":"$server_protocol"},'
        '"s":"$status"}',
        escape="json",
    )
    record = fmt.parse(
        '{"@t":1795687219.250,"req":{"line":"GET /a?b=1","proto":"HTTP/2.0"},"s":"503"}'
    )
    assert record is not None
    assert (record.method, record.path, record.protocol, record.status) == (
        "GET",
        "/a?b=1",
        "HTTP/2.0",
        503,
    )
    assert record.time == datetime.fromtimestamp(1795687219.25, UTC)


def test_nginx_combined_and_debian_combined_take_the_fast_parser() -> None:
    for fmt in (
        AccessLogFormat.nginx(NGINX_COMBINED),
        AccessLogFormat.apache(DEBIAN_APACHE_FORMATS["combined"]),
        AccessLogFormat.from_spec("common"),
        AccessLogFormat.from_spec(""),
    ):
        assert fmt.parse is parse_line, fmt


def test_nginx_default_escaping_and_its_own_vhost_format() -> None:
    fmt = AccessLogFormat.nginx(
        '$host:$server_port $remote_addr - $remote_user [$time_local] "$request" $status '
        '$body_bytes_sent "$http_referer" "$http_user_agent"'
    )
    first, other, last = map(fmt.parse, lines_of("vhosts.log"))
    assert first is not None and first.user_agent == "Mozilla/5.0 \\x22quoted\\x22"
    assert first.time == datetime(2026, 11, 26, 10, 0, 1, tzinfo=timezone(timedelta(hours=1)))
    assert other is not None and other.vhost == "other.example"
    assert last is not None and last.remote == "2001:db8::1" and last.protocol == "HTTP/2.0"


def test_a_custom_apache_format_with_its_own_time_and_request_parts() -> None:
    fmt = AccessLogFormat.apache(
        '%a %{%Y-%m-%d %H:%M:%S %z}t \\"%m %U%q %H\\" %>s %B %D \\"%{X-Forwarded-For}i\\" 100%%'
    )
    record = fmt.parse(
        '10.0.0.1 2026-11-26 10:00:01 +0000 "POST /wp-login.php?x=1 HTTP/1.1" 503 12 1234 '
        '"1.2.3.4, 5.6.7.8" 100%'
    )
    assert record is not None
    assert (record.method, record.path, record.status, record.size) == (
        "POST",
        "/wp-login.php?x=1",
        503,
        12,
    )
    assert record.time == datetime(2026, 11, 26, 10, 0, 1, tzinfo=UTC)
    bare = fmt.parse('10.0.0.1 2026-11-26 10:00:01 +0000 "GET / HTTP/1.1" 200 0 9 "-" 100%')
    assert bare is not None and bare.path == "/"


def test_apache_epoch_times_and_the_original_status() -> None:
    fmt = AccessLogFormat.apache("%{msec}t %s %U")
    record = fmt.parse("1795687219250 500 /x")
    assert record is not None and record.status == 500 and record.path == "/x"
    assert record.time == datetime.fromtimestamp(1795687219.25, UTC)


def test_specs_round_trip_and_unusable_formats_are_refused() -> None:
    for spec in ('apache:%v %h %t "%r" %>s %b', "nginx:escape=json " + NGINX_JSON.text):
        assert AccessLogFormat.from_spec(spec).spec == spec
    assert AccessLogFormat.from_spec("vhost_combined") == VHOST_COMBINED
    with pytest.raises(ValueError, match="no time or no status"):
        AccessLogFormat.from_spec("referer")
    with pytest.raises(ValueError, match="expected combined"):
        AccessLogFormat.from_spec("lighttpd:%h")
    with pytest.raises(ValueError, match="escape=bogus"):
        AccessLogFormat.from_spec("nginx:escape=bogus $status $time_local")


def test_read_records_with_a_site_log() -> None:
    site_log = SiteLog(VHOST_COMBINED, SiteFilter({"blog.example"}, 8080))
    since = datetime(2026, 11, 26, 10, 0, 5, tzinfo=UTC)
    records = read_records(LOGS / "other_vhosts_access.log", since, site_log=site_log)
    assert [r.status for r in records] == [400, 404, 408]
    assert list(read_records(LOGS / "other_vhosts_access.log")) == []
