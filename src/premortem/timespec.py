"""Times given on the command line: `30m`, `2h`, `1d` (that long ago) or an ISO date/time.

An ISO time without an offset is the machine's local time, as `date` prints it.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

from premortem.errors import UsageError

_RELATIVE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, option: str = "--since", now: float | None = None) -> float:
    """`2h`, `30m`, `1d` (ago) or an ISO date/time -> a Unix time; a UsageError naming
    `option` for anything else."""
    now = time.time() if now is None else now
    match = _RELATIVE_RE.match(text.strip())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise UsageError(
            f"{option} {text!r} is neither a duration (30m, 2h, 1d) nor an ISO time "
            "(2026-11-26T01:00)"
        ) from None
