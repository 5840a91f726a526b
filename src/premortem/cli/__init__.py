"""The `premortem` command line: a thin layer over the Python API.

Each subcommand lives in its own module in this package, listed in `commands.COMMANDS`
and imported only when it is used.
Errors the tool expects (PremortemError) become one clear line on stderr and exit 2; any
other exception is a bug, said as such in one line (exit 2; the traceback with --debug or
PREMORTEM_DEBUG=1); Ctrl-C exits 130 without a traceback. `main()` hands every command an
`Environment`: the machine (`premortem.host.Host`) the collectors look at.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from functools import cached_property
from typing import TYPE_CHECKING

import click

from premortem import __version__
from premortem.errors import ExitStatus, InternalError, PremortemError

if TYPE_CHECKING:
    from premortem.host import Host


class Environment:
    """What the commands reach the outside world through (swapped by tests)."""

    def __init__(self) -> None:
        # Show where an internal error happened (--debug sets it too).
        self.debug = bool(os.environ.get("PREMORTEM_DEBUG"))

    @cached_property
    def host(self) -> Host:
        # Imported on first use: psutil is not needed by `--version` or `check`.
        from premortem.host import LocalHost

        return LocalHost()


# Hands a command main()'s Environment (a new one when the group is invoked without main()).
pass_environment = click.make_pass_decorator(Environment, ensure=True)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (see commands.COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from premortem.cli.commands import COMMANDS

        # In the order of the seed story (commands.COMMANDS), not alphabetical.
        return [*COMMANDS, *(c for c in super().list_commands(ctx) if c not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from premortem.cli.commands import COMMANDS

        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[cmd_name]} is not a click command")
        self.add_command(command, cmd_name)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="premortem")
@click.option(
    "--debug", is_flag=True, help="Show the traceback of an internal error (PREMORTEM_DEBUG=1)."
)
@pass_environment
def cli(environment: Environment, debug: bool) -> None:
    """premortem: catch a broken PHP release before it ships, detect and diagnose
    the outage when it does, fix it, and write the postmortem."""
    environment.debug = environment.debug or debug


def main(environment: Environment | None = None) -> None:
    environment = environment or Environment()
    try:
        # standalone_mode=False returns ctx.exit()'s code instead of exiting itself.
        result = cli.main(standalone_mode=False, obj=environment)
    except InternalError as exc:
        _internal_error(exc, environment.debug)
    except PremortemError as exc:
        from rich.markup import escape

        from premortem.cli.console import err_console  # rich: imported when needed

        # One line whatever the width (a terminal wraps it, a log keeps paths whole), and
        # the message as written: a path holding [brackets] is not rich markup.
        err_console.print(
            f"[bold red]premortem:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        from premortem.cli.console import err_console

        err_console.print("premortem: interrupted")
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitStatus.ERROR if exc.exit_code in (1, 2) else exc.exit_code)
    except Exception as exc:  # anything else is a bug: one line, not a traceback
        _internal_error(exc, environment.debug)
    # The command is done and the process ends: what it allocated is frozen out of the
    # cycle collector, so the interpreter's shutdown collections do not scan it again
    # (8 ms of a 0.45 s cold check of WordPress). Objects are still freed as before.
    gc.freeze()
    sys.exit(result if isinstance(result, int) else ExitStatus.OK)


def _internal_error(exc: BaseException, debug: bool) -> None:
    from premortem.cli.console import err_console

    err_console.print(
        f"[bold red]premortem: internal error (a bug in premortem, please report):[/] "
        f"{type(exc).__name__}: {exc}",
        highlight=False,
    )
    if debug:
        import traceback

        traceback.print_exception(exc)
    else:
        err_console.print(
            "premortem: run with --debug (or PREMORTEM_DEBUG=1) to see where", highlight=False
        )
    sys.exit(ExitStatus.ERROR)
