"""`premortem init URL`: write a premortem.toml for a site this machine already serves."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from premortem.cli import Environment, pass_environment
from premortem.cli.console import console, err_console
from premortem.cli.options import format_option, shown_option
from premortem.discovery import SiteDiscovery, discover_site
from premortem.errors import ExitStatus, PremortemError
from premortem.siteconfig import write_site_config


@click.command()
@click.argument("url")
@shown_option(
    "--output",
    "-o",
    kind=click.Path(path_type=Path, dir_okay=False),
    default=Path("premortem.toml"),
    help="Where to write the config.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@format_option("text", "json", show_default=True)
@pass_environment
def init(
    environment: Environment, url: str, output: Path, force: bool, output_format: str
) -> ExitStatus:
    """Find the site at URL on this machine (its server, virtual host, docroot, logs, PHP
    logging, web user) and write a commented premortem.toml for it.

    Exit 0: written; 2: the site could not be found, or FILE exists (use --force).
    """
    if output.exists() and not force:
        raise PremortemError(f"{output} exists: pass --force to overwrite it")
    found = discover_site(url, environment.host)
    if found.config is not None:
        write_site_config(found.config, output, header=_header(found))
    if output_format == "json":
        data = found.to_dict() | {"written": str(output) if found.config else None}
        click.echo(json.dumps(data, indent=2))
    else:
        _print(found, output)
    if found.config is None:
        raise PremortemError(f"nothing written: the site of {url} was not found")
    return ExitStatus.OK


def _header(found: SiteDiscovery) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"# premortem.toml for {found.url}, written by `premortem init` on {when}",
        "# from what this machine's server says. Every key: docs/config.md.",
        "# Where each value came from:",
        *(f"#   {fact.key}: {fact.source}" for fact in found.facts if fact.source),
        *(f"# Not found: {text}" for text in found.missing),
        *(f"# Warning: {text}" for text in found.warnings),
        "",
    ]
    return "\n".join(lines) + "\n"


def _print(found: SiteDiscovery, output: Path) -> None:
    if found.facts:
        table = Table(title=f"{found.url}", title_justify="left", show_edge=False)
        for column in ("key", "value", "found in"):
            table.add_column(column, overflow="fold")
        for fact in found.facts:
            table.add_row(fact.key, str(fact.value), fact.source)
        console.print(table)
    for text in found.missing:
        err_console.print(f"[yellow]not found:[/] {text}", highlight=False)
    for text in found.warnings:
        err_console.print(f"[yellow]warning:[/] {text}", highlight=False)
    if found.config is not None:
        console.print(f"wrote {output}", highlight=False)
