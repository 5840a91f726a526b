"""Options that several commands take, each shape written once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

FC = TypeVar("FC", bound=Callable[..., Any])


def format_option(
    *choices: str, dest: str = "output_format", show_default: bool = False, help: str | None = None
) -> Callable[[FC], FC]:
    """--format, one of `choices` (the first is the default), as the Python name `dest`."""
    return click.option(
        "--format",
        dest,
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=show_default,
        help=help,
    )


def shown_option(
    *decls: str, kind: click.ParamType[Any] | Any = None, default: object, help: str | None = None
) -> Callable[[FC], FC]:
    """An option with a default that --help shows (`decls`: its flags and Python name)."""
    return click.option(*decls, type=kind, default=default, show_default=True, help=help)
