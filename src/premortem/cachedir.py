"""Where `premortem check` keeps its caches: `$XDG_CACHE_HOME/premortem/check`."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "premortem" / "check"
