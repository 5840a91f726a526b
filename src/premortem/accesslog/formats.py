"""`AccessLogFormat`: a server's log format compiled once, then `parse(line)` per line.

- `AccessLogFormat.apache(fmt)`: a `LogFormat` string; `AccessLogFormat.nginx(fmt,
  escape=...)`: a `log_format` (escape ``default``, ``json`` or ``none``, as nginx's own
  parameter says how values were escaped);
- the common/combined shapes (Apache's, Debian's with ``%O``, nginx's ``combined``) use the
  fast parser of `record.parse_line`; any other format one anchored regex, a field's pattern
  chosen by what it is (a quoted value honours the server's escaping);
- a format that is a JSON object (nginx ``escape=json``, or an Apache LogFormat written as
  JSON) reads a JSON line with `json.loads` and takes each key's value to the variable the
  format puts there (a value made of several variables is split by its own small regex);
- values are kept as the server escaped them (Apache's ``\\"``, nginx's ``\\x22``), except
  JSON lines, which `json.loads` decodes.

`from_spec(text)` reads the one-string form a site config holds (`spec`): ``""`` or
``combined``, a Debian nickname (``common``, ``vhost_combined``), ``apache:FORMAT``,
``nginx:FORMAT``, ``nginx:escape=json FORMAT`` or ``haproxy`` (HAProxy's ``option httplog``
lines, read by `accesslog.haproxy`: a load balancer's log, each record naming its server).
"""

from __future__ import annotations

import re

from premortem.accesslog.haproxy import parse_haproxy_line
from premortem.accesslog.jsonlines import json_parser
from premortem.accesslog.matching import Parser, regex_parser
from premortem.accesslog.record import AccessRecord, parse_line
from premortem.accesslog.tokens import Field, Token, apache_tokens, nginx_tokens, signature

# Debian's apache2.conf: the LogFormat lines a site's CustomLog names by nickname.
DEBIAN_APACHE_FORMATS = {
    "vhost_combined": '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    "combined": '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
    "common": '%h %l %u %t "%r" %>s %O',
    "referer": "%{Referer}i -> %U",
    "agent": "%{User-agent}i",
}
NGINX_COMBINED = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent"'
)
ESCAPES = ("default", "json", "none")
# The shapes the fast common/combined parser reads exactly.
_FAST_SIGNATURES = {
    signature(apache_tokens(fmt))
    for fmt in (
        DEBIAN_APACHE_FORMATS["combined"],
        DEBIAN_APACHE_FORMATS["common"],
        '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"',
        '%h %l %u %t "%r" %>s %b',
    )
} | {signature(nginx_tokens(NGINX_COMBINED))}
_VHOST_COMBINED_SIGNATURE = signature(apache_tokens(DEBIAN_APACHE_FORMATS["vhost_combined"]))


class AccessLogFormat:
    """A compiled access-log format: `parse(line)` -> AccessRecord, or None for a line
    not in it. `logs_vhost`/`logs_port`: whether records say where they were served."""

    def __init__(self, kind: str, text: str, tokens: list[Token], escape: str = "default") -> None:
        if escape not in ESCAPES:
            raise ValueError(f"nginx escape={escape}: not one of {', '.join(ESCAPES)}")
        self.kind, self.text, self.escape = kind, text, escape
        fields = [t for t in tokens if isinstance(t, Field)]
        if not any(f.role == "time" for f in fields) or not any(
            f.role in ("status", "status_original") for f in fields
        ):
            raise ValueError(f"{text!r} logs no time or no status: premortem cannot use it")
        self.logs_vhost = any(f.role == "vhost" for f in fields)
        self.logs_port = any(f.role == "port" for f in fields)
        # Apache's %p (%{canonical}p) is the port of the vhost's ServerName, else the
        # scheme's default (mod_log_config logs r->server->port), not the port the request
        # came in on: %{local}p and nginx's $server_port are that one.
        self.logs_canonical_port = kind == "apache" and any(
            f.role == "port" and "{local}" not in f.written for f in fields
        )
        self.parse: Parser = (
            parse_haproxy_line
            if kind == "haproxy"
            else parse_line
            if signature(tokens) in _FAST_SIGNATURES
            else _compile(tokens, escape)
        )
        # For the block scanner of big logs (accesslog.scan): the shapes it reads at once.
        self.shape: str | None = (
            "haproxy"
            if kind == "haproxy"
            else "combined"
            if self.parse is parse_line
            else "vhost_combined"
            if signature(tokens) == _VHOST_COMBINED_SIGNATURE
            else None
        )
        # Whether records name the server that answered (a load balancer's log).
        self.logs_server = kind == "haproxy"

    @classmethod
    def apache(cls, fmt: str) -> AccessLogFormat:
        return cls("apache", fmt, apache_tokens(fmt))

    @classmethod
    def nginx(cls, fmt: str, escape: str = "default") -> AccessLogFormat:
        return cls("nginx", fmt, nginx_tokens(fmt), escape)

    @classmethod
    def from_spec(cls, spec: str) -> AccessLogFormat:
        """The site config's form (see the module docstring); ValueError says what is wrong."""
        spec = spec.strip()
        if spec in ("", "combined"):
            return COMBINED
        if spec == "haproxy":
            return HAPROXY
        if spec in DEBIAN_APACHE_FORMATS:
            return cls.apache(DEBIAN_APACHE_FORMATS[spec])
        kind, colon, fmt = spec.partition(":")
        if colon and kind == "apache":
            return cls.apache(fmt)
        if colon and kind == "nginx":
            escape = "default"
            match = re.match(r"escape=(\S*)\s+", fmt)
            if match:
                escape, fmt = match.group(1), fmt[match.end() :]
            return cls.nginx(fmt, escape)
        raise ValueError(
            f"access_log_format {spec!r}: expected combined, common, vhost_combined, "
            "'apache:<LogFormat string>', 'nginx:[escape=json ]<log_format string>' or haproxy"
        )

    @property
    def spec(self) -> str:
        """The one-string form `from_spec` reads back."""
        if self.kind in ("combined", "haproxy"):
            return "" if self.kind == "combined" else "haproxy"
        return format_spec(self.kind, self.text, self.escape)

    def __repr__(self) -> str:
        return f"AccessLogFormat({self.spec or 'combined'!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccessLogFormat) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)


def format_spec(kind: str, text: str, escape: str = "default") -> str:
    """A site config's access_log_format for a server's format: "apache:FORMAT",
    "nginx:FORMAT" or "nginx:escape=json FORMAT"."""
    if kind == "nginx" and escape != "default":
        return f"nginx:escape={escape} {text}"
    return f"{kind}:{text}"


def _compile(tokens: list[Token], escape: str) -> Parser:
    by_regex = regex_parser(tokens, escape)
    by_json = json_parser(tokens)
    if by_json is None:
        return by_regex

    def parse(line: str) -> AccessRecord | None:
        # A JSON format's line is read as JSON; one that is not (cut short, written before
        # the format changed) may still match the format as text.
        record = by_json(line) if line.lstrip().startswith("{") else None
        return record if record is not None else by_regex(line)

    return parse


COMBINED = AccessLogFormat("combined", "", apache_tokens(DEBIAN_APACHE_FORMATS["combined"]))
# HAProxy's `option httplog` (its default HTTP format), as the tokens say what it logs.
HAPROXY_HTTPLOG = (
    "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc "
    "%sq/%bq %hr %hs %{+Q}r"
)
HAPROXY = AccessLogFormat(
    "haproxy",
    HAPROXY_HTTPLOG,
    [Field("remote", "%ci"), " [", Field("time", "%tr", "haproxy"), "] ",
     Field("status", "%ST"), ' "', Field("request", "%r"), '"'],
)  # fmt: skip
