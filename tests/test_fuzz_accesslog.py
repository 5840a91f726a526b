"""Property tests of the access-log formats and parsers (premortem.accesslog).

- a record written by a format (Apache LogFormat, nginx log_format, JSON) parses back to
  the same fields;
- any format string compiles or raises ValueError; any line parses or gives None;
- SiteFilter takes any server names (nginx ``~regex`` ones included) and any record.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from fuzzing import any_input, clean, garbage_text, written
from premortem.accesslog import (
    DEBIAN_APACHE_FORMATS,
    NGINX_COMBINED,
    AccessLogFormat,
    AccessRecord,
    SiteFilter,
    SiteLog,
    parse_line,
    read_records,
)
from premortem.accesslog.tokens import Field, apache_tokens, nginx_tokens

_URL_CHARS = st.characters(codec="ascii", categories=("L", "N"), include_characters="/._-~%=&+")
_QUOTABLE = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters='"\\'
)
_TOKEN = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=12)


@st.composite
def records(draw: st.DrawFn) -> AccessRecord:
    """A request as a server logs it: the values a format can write and read back."""
    offset = timezone(timedelta(minutes=draw(st.sampled_from((0, 60, -300, 330, 840)))))
    when = draw(
        st.datetimes(datetime(1971, 1, 2), datetime(2099, 12, 30), timezones=st.just(offset))
    ).replace(microsecond=0)
    quoted = st.one_of(st.none(), st.text(_QUOTABLE, min_size=2, max_size=40))
    return AccessRecord(
        remote=str(draw(st.ip_addresses(v=4))),
        time=when,
        method=draw(st.sampled_from(("GET", "POST", "HEAD", "PROPFIND"))),
        path="/" + draw(st.text(_URL_CHARS, max_size=40)),
        protocol=draw(st.sampled_from(("HTTP/1.0", "HTTP/1.1", "HTTP/2.0"))),
        status=draw(st.integers(100, 599)),
        size=draw(st.integers(0, 10**12)),
        referer=draw(quoted.filter(lambda v: v is None or v.strip() not in ("", "-"))),
        user_agent=draw(quoted.filter(lambda v: v is None or v.strip() not in ("", "-"))),
        user=draw(st.one_of(st.none(), _TOKEN)),
        vhost=draw(st.one_of(st.none(), _TOKEN.map(lambda t: t.lower() + ".example"))),
        port=draw(st.one_of(st.none(), st.integers(1, 65535))),
    )


# Apache directives (quoted as real formats quote them) and what they log.
_APACHE_PIECES = (
    "%h",
    "%a",
    "%l",
    "%u",
    '"%r"',
    "%b",
    "%O",
    '"%{Referer}i"',
    '"%{User-Agent}i"',
    "%v",
    "%p",
    "%D",
    '"%{X-Forwarded-For}i"',
)
_APACHE_TIMES = (
    "%t",
    "%{sec}t",
    "%{msec}t",
    "[%{%d/%b/%Y:%H:%M:%S %z}t]",
    "%{%Y-%m-%dT%H:%M:%S%z}t",
)


@st.composite
def apache_formats(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.sampled_from(_APACHE_PIECES), unique=True, max_size=8))
    pieces += [draw(st.sampled_from(_APACHE_TIMES)), draw(st.sampled_from(("%>s", "%s")))]
    return " ".join(draw(st.permutations(pieces)))


_NGINX_PIECES = (
    "$remote_addr",
    "$remote_user",
    '"$request"',
    "$body_bytes_sent",
    '"$http_referer"',
    '"$http_user_agent"',
    "$host",
    "$server_port",
    "$request_time",
    '"$upstream_addr"',
)


@st.composite
def nginx_formats(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.sampled_from(_NGINX_PIECES), unique=True, max_size=8))
    pieces += [draw(st.sampled_from(("[$time_local]", "$time_iso8601", "$msec"))), "$status"]
    return " ".join(draw(st.permutations(pieces)))


def _time_text(when: datetime, style: str) -> str:
    if style == "clf-bracketed":
        return when.strftime("[%d/%b/%Y:%H:%M:%S %z]")
    if style == "clf":
        return when.strftime("%d/%b/%Y:%H:%M:%S %z")
    if style == "iso8601":
        return when.isoformat()
    if style == "epoch-ms":
        return str(int(when.timestamp()) * 1000)
    if style == "epoch":
        return str(int(when.timestamp()))
    return when.strftime(style.removeprefix("strftime:"))


def _value(record: AccessRecord, field: Field) -> str:
    """What a server writes for `field` of `record` (as Apache and nginx write "none")."""
    by_role: dict[str, Any] = {
        "remote": record.remote,
        "user": record.user,
        "request": f"{record.method} {record.path} {record.protocol}",
        "status": record.status,
        "status_original": record.status,
        "size": record.size,
        "size_sent": record.size,
        "referer": record.referer,
        "agent": record.user_agent,
        "vhost": record.vhost,
        "port": record.port,
    }
    if field.role == "time":
        return _time_text(record.time, field.time_style)
    value = by_role.get(field.role)
    return "-" if value is None else str(value)


def render(tokens: list[str | Field], record: AccessRecord) -> str:
    return "".join(t if isinstance(t, str) else _value(record, t) for t in tokens)


def logged_facts(record: AccessRecord, tokens: list[str | Field]) -> dict[str, Any]:
    """The fields of `record` a format with `tokens` logs (what must come back)."""
    roles = {t.role for t in tokens if isinstance(t, Field)}
    attributes = {
        "remote": ["remote"],
        "user": ["user"],
        "time": ["time"],
        "request": ["method", "path", "protocol"],
        "status": ["status"],
        "status_original": ["status"],
        "size": ["size"],
        "size_sent": ["size"],
        "referer": ["referer"],
        "agent": ["user_agent"],
        "vhost": ["vhost"],
        "port": ["port"],
    }
    return {name: getattr(record, name) for role in roles for name in attributes.get(role, [])}


def _round_trips(log_format: AccessLogFormat, tokens: list[str | Field], record: Any) -> None:
    line = render(tokens, record)
    parsed = log_format.parse(line + "\n")
    assert parsed is not None, line
    facts = logged_facts(record, tokens)
    if log_format.parse is parse_line:  # the fast path does not read where it was served
        facts.pop("vhost", None), facts.pop("port", None)
    assert {name: getattr(parsed, name) for name in facts} == facts, line


_DEBIAN_FORMATS = sorted(
    DEBIAN_APACHE_FORMATS[name] for name in ("combined", "common", "vhost_combined")
)


@given(st.sampled_from(_DEBIAN_FORMATS) | apache_formats(), records())
def test_apache_format_round_trips_a_record(fmt: str, record: AccessRecord) -> None:
    tokens = apache_tokens(fmt)
    _round_trips(AccessLogFormat.apache(fmt), tokens, record)


@given(st.just(NGINX_COMBINED) | nginx_formats(), records())
def test_nginx_format_round_trips_a_record(fmt: str, record: AccessRecord) -> None:
    _round_trips(AccessLogFormat.nginx(fmt), nginx_tokens(fmt), record)


_JSON_FORMAT = (
    '{"time":"$time_iso8601","client":"$remote_addr","request":"$request","status":$status,'
    '"bytes":$body_bytes_sent,"referer":"$http_referer","agent":"$http_user_agent",'
    '"where":{"host":"$host","port":"$server_port"}}'
)


@given(records(), st.text(max_size=30))
def test_json_format_round_trips_a_record(record: AccessRecord, agent: str) -> None:
    # JSON lines may hold any text: quotes, backslashes, control characters.
    record = AccessRecord(**{**record.__dict__, "user_agent": agent.strip() or None})
    log_format = AccessLogFormat.nginx(_JSON_FORMAT, escape="json")
    line = json.dumps(
        {
            "time": record.time.isoformat(),
            "client": record.remote,
            "request": f"{record.method} {record.path} {record.protocol}",
            "status": record.status,
            "bytes": record.size,
            "referer": record.referer or "",
            "agent": record.user_agent or "",
            "where": {"host": record.vhost or "", "port": str(record.port or "")},
        }
    )
    parsed = log_format.parse(line)
    assert parsed is not None
    expected = {**record.__dict__, "user": None, "extra": ""}
    if expected["user_agent"] == "-":
        expected["user_agent"] = None
    assert parsed.__dict__ == expected


_FORMATS = [
    AccessLogFormat.from_spec(spec)
    for spec in (
        "",
        "common",
        "vhost_combined",
        "apache:%{%Y-%m-%d %H:%M:%S}t %>s %{X-Forwarded-For}i %D",
        "nginx:" + NGINX_COMBINED + " $request_time",
        "nginx:escape=json " + _JSON_FORMAT,
        'nginx:escape=none $host [$time_local] "$request" $status "$http_user_agent"',
        "haproxy",
    )
]


@given(st.sampled_from(_FORMATS), any_input("accesslog"))
@example(_FORMATS[0], '1 - - [01/Jan/2026:00:00:00 +9999] "GET / HTTP/1.1" 200 1')  # fixed
@example(_FORMATS[0], '1 - - [01/Jan/2026:00:00:00 +\u00b2\u00b2\u00b2\u00b2] "G" 200 1')  # fixed
@example(_FORMATS[0], '1 - - [01/Jan/2026:00:00:00 +0000] "G" 200 ' + "9" * 5000)  # fixed
@example(_FORMATS[5], '{"time": "nan", "status": 200}')
@example(_FORMATS[5], '{"time": "2026-01-01T00:00:00", "status": "\u00b2\u00b2\u00b2"}')  # fixed
@example(_FORMATS[5], '{"time": "1e400", "status": 200, "bytes": "\u00b9"}')
def test_any_line_parses_or_is_none(log_format: AccessLogFormat, text: str) -> None:
    for line in clean(text).splitlines() or [""]:
        assert isinstance(log_format.parse(line), AccessRecord | None)


@given(garbage_text(120) | apache_formats() | nginx_formats(), st.sampled_from(("a", "n", "s")))
@example("%{%}t %>s", "a")
@example('{"a":"@@pm5@@","t":"$time_iso8601","s":$status}', "n")  # IndexError (fixed)
@example("%{%Q}t %>s", "a")
def test_any_format_compiles_or_is_refused(fmt: str, kind: str) -> None:
    fmt = clean(fmt)
    try:
        if kind == "a":
            log_format = AccessLogFormat.apache(fmt)
        elif kind == "n":
            log_format = AccessLogFormat.nginx(fmt)
        else:
            log_format = AccessLogFormat.from_spec(fmt)
    except ValueError:
        return
    assert AccessLogFormat.from_spec(log_format.spec) == log_format
    log_format.parse(fmt)
    log_format.parse('127.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1')


_NAMES = st.lists(
    st.one_of(
        garbage_text(30), _TOKEN, st.sampled_from(("~(", "~^www\\.", ".example", "*.x", "_"))
    ),
    max_size=5,
)


@given(_NAMES, st.one_of(st.none(), st.integers(0, 70000)), records(), garbage_text(40))
@example(["~("], None, None, "x")
@example(["~[a-"], 80, None, "x")
def test_site_filter_takes_any_name_and_record(
    names: list[str], port: int | None, record: AccessRecord | None, vhost: str
) -> None:
    site = SiteFilter([clean(n) for n in names], port)
    record = record or AccessRecord("", datetime.now(UTC), "", "/", "", 200, 0, None, None)
    keeps = site.keeps(AccessRecord(**{**record.__dict__, "vhost": clean(vhost), "port": port}))
    assert isinstance(keeps, bool)
    assert site.describe()
    for name in site.names:  # a record served under one of the names is the site's
        assert site.keeps(AccessRecord(**{**record.__dict__, "vhost": name, "port": port}))


@given(any_input("accesslog", 2000), st.sampled_from(_FORMATS))
def test_read_records_reads_any_file(text: str, log_format: AccessLogFormat) -> None:
    with written({"access.log": text}) as base:
        site_log = SiteLog(log_format, SiteFilter(["blog.example"], 80))
        for record in read_records(base / "access.log", site_log=site_log):
            assert isinstance(record, AccessRecord)
