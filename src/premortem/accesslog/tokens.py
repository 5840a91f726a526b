"""Apache `LogFormat` and nginx `log_format` strings -> literal text and typed fields.

Both servers' directives become one vocabulary of roles (what a value means to premortem):
``remote``, ``user``, ``time``, ``request`` (the request line), ``method``, ``uri`` (path
without query), ``query`` (Apache's ``%q``: ``?a=b`` or empty), ``args`` (nginx's ``$args``:
``a=b``), ``request_uri`` (path and query), ``protocol``, ``status`` (final),
``status_original`` (Apache ``%s``), ``size`` (body bytes, ``-`` for none), ``size_sent``
(with headers, Debian's ``%O``), ``referer``, ``agent``, ``vhost``, ``port``; anything else
is ``opaque`` (matched, then ignored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPAQUE = "opaque"


@dataclass(frozen=True)
class Field:
    role: str
    written: str  # as in the format: "%>s", "$status"
    # For role "time": "clf-bracketed" (%t), "clf" ($time_local), "iso8601", "epoch"
    # (seconds, with a fraction or not), "epoch-ms", "epoch-us", or "strftime:<format>".
    time_style: str = ""
    # An opaque value that may hold spaces (a header, an upstream list): matched lazily.
    spaced: bool = False


Token = str | Field

# %[condition][<>]{argument}[<>][^t?]letter, as mod_log_config reads a directive.
_APACHE_DIRECTIVE = re.compile(r"%(?:!?\d+(?:,\d+)*)?[<>]?(?:\{([^}]*)\})?[<>]?(\^t[io]|[A-Za-z%])")
_APACHE_LETTERS = {
    "h": "remote",
    "a": "remote",
    "u": "user",
    "r": "request",
    "m": "method",
    "U": "uri",
    "q": "query",
    "H": "protocol",
    "b": "size",
    "B": "size",
    "O": "size_sent",
    "v": "vhost",
    "V": "vhost",
}
_APACHE_HEADERS = {"referer": "referer", "user-agent": "agent"}
_APACHE_EPOCHS = {"sec": "epoch", "msec": "epoch-ms", "usec": "epoch-us"}
_APACHE_ESCAPES = {"n": "\n", "t": "\t"}

_NGINX_VARIABLE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")
_NGINX_VARIABLES = {
    "remote_addr": "remote",
    "remote_user": "user",
    "request": "request",
    "request_method": "method",
    "request_uri": "request_uri",
    "uri": "uri",
    "document_uri": "uri",
    "args": "args",
    "query_string": "args",
    "server_protocol": "protocol",
    "status": "status",
    "body_bytes_sent": "size",
    "bytes_sent": "size_sent",
    "http_referer": "referer",
    "http_user_agent": "agent",
    "host": "vhost",
    "server_name": "vhost",
    "server_port": "port",
}
_NGINX_TIMES = {"time_local": "clf", "time_iso8601": "iso8601", "msec": "epoch"}
# nginx variables whose values may hold spaces ("1.2.3.4, 5.6.7.8").
_NGINX_SPACED_PREFIXES = ("http_", "sent_http_", "upstream_", "cookie_", "arg_")


def apache_tokens(fmt: str) -> list[Token]:
    """An Apache LogFormat string (as the directive's argument) -> tokens."""
    tokens: list[Token] = []
    position = 0
    for match in _APACHE_DIRECTIVE.finditer(fmt):
        _add_literal(tokens, _apache_literal(fmt[position : match.start()]))
        position = match.end()
        letter, argument = match.group(2), match.group(1)
        if letter == "%":
            _add_literal(tokens, "%")
        else:
            tokens.append(_apache_field(match.group(0), letter, argument))
    _add_literal(tokens, _apache_literal(fmt[position:]))
    return tokens


def _apache_field(written: str, letter: str, argument: str | None) -> Field:
    if letter == "t":
        return _apache_time(written, argument)
    if letter == "s":
        return Field("status" if ">" in written else "status_original", written)
    if letter == "p":
        # %{remote}p is the client's port, not the server's.
        return Field(OPAQUE if argument == "remote" else "port", written)
    if letter in ("i", "o", "e", "n", "C", "x", "^ti", "^to"):
        role = _APACHE_HEADERS.get((argument or "").lower()) if letter == "i" else None
        return Field(role or OPAQUE, written, spaced=role is None)
    return Field(_APACHE_LETTERS.get(letter, OPAQUE), written)


def _apache_time(written: str, argument: str | None) -> Field:
    if argument is None:
        return Field("time", written, "clf-bracketed")
    argument = argument.removeprefix("begin:").removeprefix("end:")
    if argument in _APACHE_EPOCHS:
        return Field("time", written, _APACHE_EPOCHS[argument])
    if argument in ("msec_frac", "usec_frac"):
        return Field(OPAQUE, written)
    return Field("time", written, "strftime:" + argument)


def _apache_literal(text: str) -> str:
    """mod_log_config's backslash escapes: \\n, \\t; \\x is x (so \\" is a quote)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    escaped = False
    for char in text:
        if escaped:
            out.append(_APACHE_ESCAPES.get(char, char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def nginx_tokens(fmt: str) -> list[Token]:
    """An nginx log_format string (its quoted parts joined, as nginx joins them) -> tokens."""
    tokens: list[Token] = []
    position = 0
    for match in _NGINX_VARIABLE.finditer(fmt):
        _add_literal(tokens, fmt[position : match.start()])
        position = match.end()
        name = match.group(1) or match.group(2)
        if name in _NGINX_TIMES:
            tokens.append(Field("time", match.group(0), _NGINX_TIMES[name]))
        else:
            role = _NGINX_VARIABLES.get(name, OPAQUE)
            spaced = role == OPAQUE and name.startswith(_NGINX_SPACED_PREFIXES)
            tokens.append(Field(role, match.group(0), spaced=spaced))
    _add_literal(tokens, fmt[position:])
    return tokens


def _add_literal(tokens: list[Token], text: str) -> None:
    if not text:
        return
    if tokens and isinstance(tokens[-1], str):
        tokens[-1] += text
    else:
        tokens.append(text)


def signature(tokens: list[Token]) -> tuple[str, ...]:
    """What a format logs, independent of how it is spelt (`%h` and `%a`, `%b` and `%O`)."""
    out: list[str] = []
    for token in tokens:
        if isinstance(token, str):
            out.append("=" + token)
        elif token.role == "size_sent":
            out.append("size")
        else:
            out.append(token.role + ":" + token.time_style)
    return tuple(out)
