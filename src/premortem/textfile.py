"""Reading one line of a text file, whatever its encoding (for quoting source lines)."""

from __future__ import annotations


def line_of(path: str, number: int | None) -> str | None:
    """Line `number` (1-based) of the file, without its line ending; None when unreadable
    or shorter. Bytes that are not UTF-8 are replaced, never an error."""
    if not number:
        return None
    try:
        with open(path, "rb") as handle:
            for index, raw in enumerate(handle, 1):
                if index == number:
                    return raw.decode("utf-8", "replace").rstrip("\r\n")
    except OSError:
        return None
    return None
