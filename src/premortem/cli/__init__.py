"""The `premortem` command line: a thin layer over the Python API.

Each subcommand lives in its own module in this package and is registered below.
Errors the tool expects (PremortemError) become one clear line on stderr and exit 2;
Ctrl-C exits 130 without a traceback.
"""

from __future__ import annotations

import sys

import click

from premortem import __version__
from premortem.cli.console import err_console
from premortem.errors import PremortemError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="premortem")
def cli() -> None:
    """premortem: catch a broken PHP release before it ships, detect and diagnose
    the outage when it does, fix it, and write the postmortem."""


def _register() -> None:
    # Imported here so that `premortem --help` stays fast and one broken module
    # cannot hide the others' help.
    from premortem.cli import commands

    for command in commands.all_commands():
        cli.add_command(command)


def main() -> None:
    _register()
    try:
        # standalone_mode=False returns ctx.exit()'s code instead of exiting itself.
        result = cli.main(standalone_mode=False)
    except PremortemError as exc:
        err_console.print(f"[bold red]premortem:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err_console.print("premortem: interrupted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("premortem: interrupted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    sys.exit(result if isinstance(result, int) else 0)
