"""`premortem demo`: tell the seed story end to end on the lab, with measured times."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from premortem.cli.console import console, err_console
from premortem.cli.options import format_option, shown_option
from premortem.ops.demo import (
    SEED_HOURS_TO_DETECT,
    SEED_HOURS_TO_ROOT_CAUSE,
    SEED_HOURS_TOTAL,
    DemoResult,
    run_demo,
)


def _summary(result: DemoResult) -> Table:
    table = Table(title="the seed story, replayed on the lab")
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for step in result.steps:
        table.add_row(step.name, f"{step.seconds:.1f}")
    table.add_row("[bold]total[/]", f"[bold]{result.total_seconds:.1f}[/]")
    return table


def _comparison(result: DemoResult) -> Table:
    table = Table(title="after the bad release went live")
    table.add_column("")
    table.add_column("the seed (by hand)", justify="right")
    table.add_column("premortem (measured)", justify="right")
    rows = (
        ("outage detected", SEED_HOURS_TO_DETECT, result.to_detect, "by customers"),
        ("root cause found", SEED_HOURS_TO_ROOT_CAUSE, result.to_root_cause, "with strace"),
        ("site fixed", SEED_HOURS_TOTAL, result.to_recover, "by a script"),
    )
    for label, hours, seconds, how in rows:
        seed = f"{hours * 60:.0f} min {how}" if hours < 1 else f"{hours:.1f} h {how}"
        table.add_row(label, seed, f"{seconds:.1f} s")
    return table


@click.command()
@shown_option(
    "--dir",
    "lab_dir",
    kind=click.Path(path_type=Path, file_okay=False),
    default=Path("/srv/premortem-lab"),
    help="Lab directory (created if needed).",
)
@shown_option("--port", kind=click.IntRange(1, 65535), default=8080)
@shown_option(
    "--server",
    kind=click.Choice(["apache", "nginx", "apache-fpm"]),
    default="apache",
    help="The lab's web server: Apache + mod_php, nginx + php-fpm, or Apache + php-fpm.",
)
@shown_option(
    "--out",
    "out_dir",
    kind=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-out"),
    help="Where the postmortem, the diagnosis and each command's output go.",
)
@format_option("text", "json")
def demo(lab_dir: Path, port: int, server: str, out_dir: Path, output_format: str) -> None:
    """Replay the seed outage on the lab: deploy, detect, diagnose, fix, report, prevent."""
    result = run_demo(lab_dir.absolute(), port, out_dir.absolute(), err_console.print, server)
    if output_format == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    console.print(_summary(result))
    console.print(_comparison(result))
    hours = result.total_seconds / 3600
    console.print(
        f"The seed took {SEED_HOURS_TOTAL:.0f} hours from deploy to fix; here the whole story "
        f"took {result.total_seconds:.0f} s ({SEED_HOURS_TOTAL / hours:,.0f}x faster)."
    )
    console.print(f"postmortem: {result.report_md}  and  {result.report_html}")
    console.print(
        f"The lab keeps running at {result.lab_url} to explore; "
        f"`premortem lab down --dir {result.lab_dir}` stops it, `lab destroy` removes it.",
        highlight=False,
    )
