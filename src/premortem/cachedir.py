"""Where `premortem check` keeps its caches: `$XDG_CACHE_HOME/premortem/check`."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

# The parse cache's format (php.parsing; 6: syntax judged by PHP's parser; 7: a tree's
# cache in three objects, php.parsecache); the answer cache (check.answer) sits beside it.
CACHE_VERSION = 8


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "premortem" / "check"


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


def tree_cache_file(root_real: str) -> Path:
    """The parse cache of the tree at `root_real` (its other caches share the name).

    Named after the parent directory too: releases/<ts>/ siblings find each other.
    """
    parent = os.path.dirname(root_real)
    return cache_dir() / f"v{CACHE_VERSION}-{_digest(parent)}-{_digest(root_real)}.pickle"
