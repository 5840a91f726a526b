"""`python -m premortem.analyzers [DOC.md]`: print the analyzers' docs, or refresh DOC.md's
section between ``<!-- analyzers:begin -->`` and ``<!-- analyzers:end -->``."""

from __future__ import annotations

import sys
from pathlib import Path

from premortem.analyzers import documentation

BEGIN, END = "<!-- analyzers:begin -->\n", "<!-- analyzers:end -->"


def main(argv: list[str]) -> int:
    if not argv:
        sys.stdout.write(documentation())
        return 0
    path = Path(argv[0])
    text = path.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"{path} has no {BEGIN.strip()} ... {END} section", file=sys.stderr)
        return 2
    start = text.index(BEGIN) + len(BEGIN)
    path.write_text(text[:start] + documentation() + text[text.index(END) :], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
