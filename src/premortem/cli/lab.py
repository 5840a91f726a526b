"""`premortem lab`: a real Apache + mod_php, MariaDB and WordPress stack on loopback."""

from __future__ import annotations

import click

from premortem.cli.console import err_console
from premortem.ops.packages import LAB_PACKAGES, ensure_packages


@click.group()
def lab() -> None:
    """A real local stack (Apache + PHP + MariaDB + WordPress on 127.0.0.1) with fault injection."""


@lab.command()
def deps() -> None:
    """Install the Debian packages the lab needs (only those missing)."""
    installed = ensure_packages(LAB_PACKAGES)
    if installed:
        err_console.print(f"installed: {' '.join(installed)}")
    else:
        err_console.print("all lab packages are installed")
