"""Shared rich consoles: results go to stdout, messages and progress to stderr.

Created on first use (`from premortem.cli.console import console` creates it): importing
rich costs more than a cached `premortem check --format json` does in all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    console: Console
    err_console: Console


def __getattr__(name: str) -> Console:
    if name not in ("console", "err_console"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    made = Console(stderr=name == "err_console", highlight=False)
    globals()[name] = made
    return made
