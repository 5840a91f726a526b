"""`premortem diagnose URL`: the root cause of a failing site, with the evidence."""

from __future__ import annotations

import json
from pathlib import Path

import click

from premortem.cli import Environment, pass_environment
from premortem.cli.console import console, err_console
from premortem.cli.options import format_option, shown_option
from premortem.diagnosis import DiagnoseOptions, diagnose
from premortem.discovery import load_site
from premortem.errors import PremortemError
from premortem.render.diagnosis_text import render_diagnosis_text
from premortem.timespec import parse_time


def parse_since(text: str, now: float | None = None) -> float:
    return parse_time(text, "--since", now)


@click.command(name="diagnose")
@click.argument("url")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="premortem.toml of the site (default: ./premortem.toml when it is for this URL's "
    "site, else what the server that answers says).",
)
@click.option(
    "--trace/--no-trace",
    default=None,
    help="Replay the request under strace (default: when the site fails and we are root).",
)
@click.option("--since", "since_text", help="Recent changes since TIME (30m, 2h, ISO time).")
@click.option(
    "--baseline",
    type=click.Path(file_okay=False, path_type=Path),
    help="Compare the site with this previous release tree.",
)
@format_option("text", "json", show_default=True)
@click.option("--explain", is_flag=True, help="Also show the evidence each collector gathered.")
@shown_option(
    "--timeout",
    kind=click.FloatRange(min=0.5, max=120),
    default=10.0,
    help="Seconds to wait for the site's answer.",
)
@pass_environment
def diagnose_command(
    environment: Environment,
    url: str,
    config_file: Path | None,
    trace: bool | None,
    since_text: str | None,
    baseline: Path | None,
    output_format: str,
    explain: bool,
    timeout: float,
) -> int:
    """Find why URL fails: HTTP, server config, logs, strace, recent changes, host.

    Exit 0: the site answers well and nothing is wrong; 1: problems found (findings[0] is
    the root cause); 2: could not diagnose (it says what it could not see).
    """
    if since_text and baseline:
        raise PremortemError("use either --since or --baseline, not both")

    def progress(message: str) -> None:
        err_console.print(f"[dim]diagnose: {message}[/]")

    # No discovery here: diagnose finds the server and its config itself (collectors).
    config = load_site(config_file, url, None, progress)

    result = diagnose(
        DiagnoseOptions(
            url=url,
            config=config,
            trace=trace,
            since=parse_since(since_text) if since_text else None,
            baseline=str(baseline) if baseline else None,
            timeout=timeout,
            progress=progress,
            host=environment.host,
        )
    )
    if output_format == "json":
        from premortem.render.json import diagnosis_document  # names not UTF-8: \xNN

        click.echo(json.dumps(diagnosis_document(result.to_dict()), indent=2, ensure_ascii=False))
    else:
        render_diagnosis_text(result, console, explain=explain)
    return result.exit_code
