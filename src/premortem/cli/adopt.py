"""`premortem adopt`: move an in-place docroot into the releases/shared/current layout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from premortem.cli import Environment, pass_environment
from premortem.cli.console import console, err_console
from premortem.cli.options import format_option, shown_option
from premortem.discovery import DEFAULT_CONFIG
from premortem.errors import ExitStatus, PremortemError


def _say(message: str) -> None:
    err_console.print(f"[dim]premortem:[/] {message}", highlight=False)


@click.command()
@shown_option(
    "--config",
    "config_path",
    kind=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_CONFIG,
    help="The site's premortem.toml (`premortem init URL` writes one); updated by adopt.",
)
@click.option(
    "--site-root",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the layout goes (a new directory) [default: beside the docroot, "
    "DOCROOT.premortem].",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and the diffs; change nothing.")
@click.option("--yes", "assume_yes", is_flag=True, help="Do it without asking.")
@click.option("--undo", is_flag=True, help="Serve the old docroot again (from adopt's backup).")
@format_option("text", "json")
@pass_environment
def adopt(
    environment: Environment,
    config_path: Path,
    site_root: Path | None,
    dry_run: bool,
    assume_yes: bool,
    undo: bool,
    output_format: str,
) -> ExitStatus:
    """Turn the site's in-place docroot into releases/shared/current, without failing a
    request: copy it as the first release, share wp-config.php and uploads, re-point the
    server at `current` (backup, config test, graceful reload, checks; undone at once if
    the site does not answer as before) and update the config file. The old docroot is
    left as it was.

    Exit 0: adopted (or undone with --undo); 1: stopped or undone automatically, the site
    serving the old docroot; 2: premortem could not do its job.
    """
    from premortem.ops.adopt import adopt as run_adopt
    from premortem.ops.adopt import plan_adopt

    if undo:
        _confirm(assume_yes or dry_run, "serve the old docroot again?")
        return _undo(config_path, environment)
    plan = plan_adopt(config_path, site_root)
    if output_format == "json":
        if dry_run:
            click.echo(json.dumps(plan.to_dict(), indent=2))
            return ExitStatus.OK
    else:
        console.print(f"adopt {plan.old_docroot} as {plan.site_root}:", highlight=False)
        for number, step in enumerate(plan.describe(), 1):
            console.print(f"  {number}. {step}", highlight=False)
        click.echo(plan.diff(), nl=False)
    if dry_run:
        _say("dry run: nothing changed")
        return ExitStatus.OK
    _confirm(assume_yes, "adopt the site?")
    result = run_adopt(plan, environment.host, progress=_say)
    if output_format == "json":
        click.echo(json.dumps({"plan": plan.to_dict(), **result.to_dict()}, indent=2))
    elif result.ok:
        console.print(
            f"[green]adopted[/]: the server serves {plan.new_docroot} (release "
            f"{result.release}); {plan.old_docroot} is left as it was; backup in "
            f"{result.backup_dir}; `premortem adopt --undo` goes back",
            highlight=False,
        )
    else:
        console.print(f"[red]{result.outcome}[/]: {result.reason}", highlight=False)
        console.print(f"  the server serves {plan.old_docroot}, as before", highlight=False)
    return ExitStatus.OK if result.ok else ExitStatus.PROBLEMS


def _undo(config_path: Path, environment: Environment) -> ExitStatus:
    from premortem.ops.adopt import leftover_note, undo_adopt

    result = undo_adopt(config_path, environment.host, progress=_say)
    state = "[green]undone[/]" if result.healthy else "[red]undone, but the site fails[/]"
    console.print(f"{state}: the server serves {result.old_docroot} again", highlight=False)
    console.print(f"  restored {', '.join(result.restored)}", highlight=False)
    console.print(f"  {leftover_note(result)}", highlight=False)
    return ExitStatus.OK if result.healthy else ExitStatus.PROBLEMS


def _confirm(assume_yes: bool, question: str) -> None:
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise PremortemError(
            "not changing the site without confirmation: pass --yes (or --dry-run)"
        )
    if not click.confirm(question, err=True):
        raise PremortemError("not confirmed: nothing changed")
