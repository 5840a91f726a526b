"""Tokens -> one anchored regex, a group per field, each field's pattern chosen by its role.

A field between double quotes takes any text with the server's escaping (``\\"`` inside);
with nginx's ``escape=none`` nothing is escaped, so it is matched lazily up to the quote
that the rest of the line agrees with. Unquoted fields take what such a value can be (a
status three digits, a size digits or ``-``); opaque values that may hold spaces (headers)
are matched lazily.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from premortem.accesslog.record import AccessRecord, build_record
from premortem.accesslog.tokens import OPAQUE, Field, Token

Parser = Callable[[str], AccessRecord | None]

_QUOTED = {"default": r'(?:[^"\\]|\\.)*', "json": r'(?:[^"\\]|\\.)*', "none": r".*?"}
_PATTERNS = {
    "remote": r"\S+",
    "user": r"\S+",
    "request": r".*?",
    "method": r"\S*",
    "uri": r"[^\s?]*",
    "query": r"\S*",
    "args": r"\S*",
    "request_uri": r"\S*",
    "protocol": r"\S*",
    "status": r"\d{3}",
    "status_original": r"\d{3}",
    "size": r"\d+|-",
    "size_sent": r"\d+|-",
    "referer": r".*?",
    "agent": r".*?",
    "vhost": r"\S+",
    "port": r"\d+|-",
}
_TIME_PATTERNS = {
    "clf-bracketed": r"\[[^\]]+\]",
    "clf": r"\d\d?/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}",
    "iso8601": r"\S+",
    "epoch": r"\d+(?:\.\d+)?",
    "epoch-ms": r"\d+",
    "epoch-us": r"\d+",
}


def regex_of(tokens: Sequence[Token], escape: str) -> tuple[re.Pattern[str], list[Field]]:
    """The anchored pattern of a whole value or line, and the fields of its groups."""
    parts, fields = ["^"], []
    for index, token in enumerate(tokens):
        if isinstance(token, str):
            parts.append(re.escape(token))
            continue
        before = tokens[index - 1] if index else ""
        after = tokens[index + 1] if index + 1 < len(tokens) else ""
        quoted = (
            isinstance(before, str)
            and before.endswith('"')
            and isinstance(after, str)
            and after.startswith('"')
        )
        parts.append(f"({_QUOTED[escape] if quoted else _field_pattern(token)})")
        fields.append(token)
    # Trailing whitespace (a CR, a space some configs end with) is not part of the format.
    return re.compile("".join(parts) + r"\s*$"), fields


def _field_pattern(field: Field) -> str:
    if field.role == "time":
        return _TIME_PATTERNS.get(field.time_style, r".+?")
    if field.role == OPAQUE:
        return r".*?" if field.spaced else r"\S*"
    return _PATTERNS[field.role]


def role_values(
    fields: Sequence[Field], groups: Sequence[str | None], into: dict[str, str]
) -> dict[str, str]:
    """Each role's value added to `into`; the first field of a role wins (%v before %V)."""
    for field, value in zip(fields, groups, strict=True):
        if field.role != OPAQUE and value is not None:
            into.setdefault(field.role, value)
    return into


def time_style(fields: Sequence[Field]) -> str:
    return next((f.time_style for f in fields if f.role == "time"), "")


def regex_parser(tokens: Sequence[Token], escape: str) -> Parser:
    compiled, fields = regex_of(tokens, escape)
    style = time_style(fields)

    def parse(line: str) -> AccessRecord | None:
        match = compiled.match(line)
        if match is None:
            return None
        return build_record(role_values(fields, match.groups(), {}), style)

    return parse
