"""Formats that are a JSON object (nginx ``escape=json``, an Apache LogFormat written as
JSON): lines read with `json.loads`, each key's value taken to the variable the format puts
there.

The format itself is read as JSON once, each variable replaced by a placeholder (quoted when
the format leaves it bare, as in ``"status": $status``): the placeholders' places in that
object are where each variable's value is in a line. A value made of several variables
(``"request": "$request_method $uri"``) is split by its own small regex.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from premortem.accesslog.matching import Parser, regex_of, role_values, time_style
from premortem.accesslog.record import AccessRecord, build_record
from premortem.accesslog.tokens import Field, Token

_PLACEHOLDER = re.compile(r"@@pm(\d+)@@")
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class _Slot:
    """Where in a line's object one value is, and the fields it holds."""

    path: Path
    fields: list[Field]
    pattern: re.Pattern[str] | None  # None: the value is one field, whole

    def add_values(self, data: Any, into: dict[str, str]) -> None:
        for key in self.path:
            if isinstance(data, dict) and isinstance(key, str):
                data = data.get(key)
            elif isinstance(data, list) and isinstance(key, int) and key < len(data):
                data = data[key]
            else:
                return
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            return
        value = str(data)
        if self.pattern is None:
            role_values(self.fields, [value], into)
            return
        match = self.pattern.match(value)
        if match is not None:
            role_values(self.fields, match.groups(), into)


def json_parser(tokens: Sequence[Token]) -> Parser | None:
    """A parser of the format's JSON lines, or None when the format is not a JSON object."""
    template, fields = _template(tokens)
    try:
        shape = json.loads(template)
    except ValueError:
        return None
    if not isinstance(shape, dict):
        return None
    slots = []
    for path, text in _string_leaves(shape, ()):
        slot_tokens = _slot_tokens(text, fields)
        slot_fields = [t for t in slot_tokens if isinstance(t, Field)]
        if not slot_fields:
            continue
        single = len(slot_tokens) == 1
        pattern = None if single else regex_of(slot_tokens, "none")[0]
        slots.append(_Slot(path, slot_fields, pattern))
    style = time_style(fields)

    def parse(line: str) -> AccessRecord | None:
        try:
            data = json.loads(line)
        except ValueError:
            return None
        values: dict[str, str] = {}
        for slot in slots:
            slot.add_values(data, values)
        return build_record(values, style)

    return parse


def _template(tokens: Sequence[Token]) -> tuple[str, list[Field]]:
    """The format's text with each field replaced by a placeholder (quoted when bare)."""
    out: list[str] = []
    fields: list[Field] = []
    in_string = escaped = False
    for token in tokens:
        if isinstance(token, Field):
            marker = f"@@pm{len(fields)}@@"
            fields.append(token)
            out.append(marker if in_string else f'"{marker}"')
            continue
        for char in token:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = in_string
            elif char == '"':
                in_string = not in_string
        out.append(token)
    return "".join(out), fields


def _string_leaves(node: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _string_leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _string_leaves(value, (*path, index))
    elif isinstance(node, str):
        yield path, node


def _slot_tokens(text: str, fields: list[Field]) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if int(match.group(1)) >= len(fields):  # "@@pm9@@" written in the format itself
            continue
        if match.start() > position:
            tokens.append(text[position : match.start()])
        tokens.append(fields[int(match.group(1))])
        position = match.end()
    if position < len(text):
        tokens.append(text[position:])
    return tokens
