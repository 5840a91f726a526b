"""Shared rich consoles: results go to stdout, messages and progress to stderr."""

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
