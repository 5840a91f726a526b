"""`premortem impact`: the impact of any time range of any access log."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from premortem.accesslog import AccessLogFormat, SiteFilter, SiteLog
from premortem.cli.console import console, err_console
from premortem.cli.options import format_option, shown_option
from premortem.errors import ExitStatus, UsageError
from premortem.report.impact import Impact, impact_of_logs, log_files
from premortem.sitelog import site_log_of
from premortem.timespec import parse_time


@click.command()
@click.argument("logs", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--since", "since_text", help="From TIME (30m, 2h, 1d ago, or an ISO time).")
@click.option("--until", "until_text", help="Up to TIME (same forms; default: the last line).")
@click.option(
    "--site",
    "site_names",
    multiple=True,
    metavar="NAME",
    help="Of a log shared by several sites (vhost_combined, $host), only NAME's lines.",
)
@click.option(
    "--access-log-format",
    default="",
    metavar="FORMAT",
    help="How the logs are written (default: the config's, else combined): combined, "
    "vhost_combined, 'apache:<LogFormat string>' or 'nginx:[escape=json ]<log_format string>'.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A premortem.toml: its access log (with its rotated files) and format.",
)
@format_option("text", "json", "md", show_default=True)
@shown_option("--top", kind=click.IntRange(1, 100), default=5)
def impact(
    logs: tuple[Path, ...],
    since_text: str | None,
    until_text: str | None,
    site_names: tuple[str, ...],
    access_log_format: str,
    config_path: Path | None,
    output_format: str,
    top: int,
) -> ExitStatus:
    """The impact of a time range of access logs (rotated and gzipped ones too): requests,
    5xx and their share, clients and clients affected, worst URLs, requests per minute.

    For an outage that happened before premortem watched the site. `--format json` is the
    object a postmortem's `impact` holds; `--format md` its Impact section.
    """
    from premortem.discovery import load_site

    now = time.time()
    since = _moment(since_text, "--since", now)
    until = _moment(until_text, "--until", now)
    if since and until and until < since:
        raise UsageError("--until is before --since")
    config = load_site(config_path, None, None, _warn) if config_path or not logs else None
    paths = list(logs) or (
        log_files(Path(config.access_log)) if config and config.access_log else []
    )
    if not paths:
        raise UsageError("which log? give LOG files, or --config FILE with an access_log")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such log: {', '.join(missing)}")
    site_log = _site_log(config, access_log_format, site_names)
    measured = impact_of_logs(paths, since, until, worst=top, site_log=site_log)
    if output_format == "json":
        click.echo(json.dumps(measured.to_dict(), indent=2))
    elif output_format == "md":
        from premortem.report.markdown import impact_section

        click.echo("\n".join(["## Impact", "", *impact_section(measured)]))
    else:
        _print(measured)
    return ExitStatus.OK


def _moment(text: str | None, option: str, now: float) -> datetime | None:
    return datetime.fromtimestamp(parse_time(text, option, now), UTC) if text else None


def _site_log(config: object, spec: str, names: tuple[str, ...]) -> SiteLog:
    from premortem.siteconfig import SiteConfig

    try:
        if isinstance(config, SiteConfig) and not names:
            return site_log_of(config, spec=spec)
        log_format = AccessLogFormat.from_spec(spec or getattr(config, "access_log_format", ""))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return SiteLog(log_format, SiteFilter(names))


def _warn(message: str) -> None:
    err_console.print(f"[yellow]premortem:[/] {message}", highlight=False)


def _print(measured: Impact) -> None:
    from premortem.report.markdown import backend_rows, impact_rows, worst_url_rows

    console.print(
        f"{measured.window_start:%Y-%m-%d %H:%M:%S} to {measured.window_end:%Y-%m-%d %H:%M:%S} "
        f"UTC, from {len(measured.sources)} file(s)",
        highlight=False,
    )
    table = Table("measure", "value", show_edge=False)
    for measure, value in impact_rows(measured):
        table.add_row(measure, value)
    console.print(table)
    if measured.per_backend:
        # A balancer's log names the server that answered each request.
        backends = Table(
            "backend",
            "requests",
            "failed (5xx)",
            "clients affected",
            title="per backend",
            show_edge=False,
        )
        for row in backend_rows(measured):
            backends.add_row(*row)
        console.print(backends)
    if measured.worst_urls:
        worst = Table("URL", "failed", "requests", title="worst URLs", show_edge=False)
        for row in worst_url_rows(measured):
            worst.add_row(*row)
        console.print(worst)
