"""`premortem watch`, `incidents`, `note` and `report`: detect, record and write up outages."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click
from rich.table import Table

from premortem.cli import Environment, pass_environment
from premortem.cli.console import console, err_console
from premortem.cli.options import format_option, shown_option
from premortem.errors import PremortemError
from premortem.siteconfig import SiteConfig, default_state_dir
from premortem.sitelog import site_log_of
from premortem.store import open_store, store_path
from premortem.watch.detector import Thresholds
from premortem.watch.hooks import DiagnoseHook, diagnose_command, subprocess_diagnosis
from premortem.watch.watcher import (
    BackendDiagnoser,
    BalancerWatch,
    RollbackHook,
    RollbackRequest,
    Watcher,
    WatchSettings,
)

if TYPE_CHECKING:
    from premortem.host import Host

# A click command being decorated (click types its own decorators the same way).
FC = TypeVar("FC", bound=Callable[..., Any])

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Duration(click.ParamType[float]):
    """`500ms`, `5s`, `2m`, `1h` or a plain number of seconds."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        match = _DURATION.match(str(value))
        if match is None or float(match.group(1)) <= 0:
            self.fail(f"{value!r} is not a duration like 500ms, 5s, 2m", param, ctx)
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


DURATION = Duration()

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The site's premortem.toml (default: ./premortem.toml if present).",
)
STATE_DIR_OPTION = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the site's event store lives (default: state_dir of the config, else the "
    "site's directory under /var/lib/premortem).",
)
URL_OPTION = click.option(
    "--url",
    "site_url",
    help="The site, when there is no premortem.toml (as given to watch or diagnose).",
)


def _access_log_option(purpose: str) -> Callable[[FC], FC]:
    """--access-log and --access-log-format (how it is written)."""
    log = click.option(
        "--access-log",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Access log {purpose} (default: access_log of the config).",
    )
    written = click.option(
        "--access-log-format",
        default="",
        metavar="FORMAT",
        help="How the access log is written (default: access_log_format of the config, else "
        "combined): combined, vhost_combined, 'apache:<LogFormat string>', "
        "'nginx:[escape=json ]<log_format string>' or haproxy (option httplog).",
    )
    return lambda command: log(written(command))


# The help of watch's options that show their default; the thresholds read best side by side.
_HELP = {
    "timeout": "Probe timeout.",
    "rollback-within": "How recent the last deploy must be for --auto-rollback.",
    "probe-failures": "Consecutive failed probes of one URL that open an incident.",
    "error-rate": "Percent of 5xx in the window that opens an incident.",
    "min-requests": "Requests the window needs before its error rate counts.",
    "window": "Sliding window of the access-log error rate.",
    "healthy": "Healthy period after which an incident is resolved.",
}


def _shown_option(
    name: str, kind: click.ParamType[Any], default: object, *parameter: str
) -> Callable[[FC], FC]:
    """`--name` with its default shown in --help (`parameter`: another Python name for it)."""
    return shown_option(f"--{name}", *parameter, kind=kind, default=default, help=_HELP[name])


def load_config(
    config_path: Path | None, url: str | None = None, host: Host | None = None
) -> SiteConfig | None:
    """--config FILE, else ./premortem.toml (when for the same site as `url`), else (given
    `host`) the site discovered from `url` on this machine; None when nothing says which."""
    from premortem.discovery import load_site

    try:
        return load_site(config_path, url, host, _warn)
    except PremortemError as exc:
        if config_path is not None or host is None:
            raise
        # A URL premortem cannot place on this machine is still worth probing.
        _warn(str(exc))
        return None


def _warn(message: str) -> None:
    err_console.print(f"[yellow]premortem:[/] {message}", highlight=False)


def resolve_state_dir(
    config: SiteConfig | None, state_dir: Path | None, url: str | None = None
) -> Path:
    if state_dir is not None:
        return state_dir
    if config is not None:
        return config.path_of_state
    if url:
        return default_state_dir(url)
    raise PremortemError(
        "which site? give its URL (--url for this command), --config FILE (a premortem.toml) "
        "or --state-dir DIR (where the site's incidents are recorded)"
    )


def _access_log_of(config: SiteConfig | None, access_log: Path | None) -> Path | None:
    """The access log given on the command line, else the config's, else none."""
    if access_log is not None:
        return access_log
    return Path(config.access_log) if config and config.access_log else None


def probe_urls(config: SiteConfig | None, urls: tuple[str, ...]) -> list[str]:
    if urls:
        return list(urls)
    if config is None:
        return []
    base = config.url.rstrip("/")
    return [base + (path if path.startswith("/") else "/" + path) for path in config.smoke_paths]


def fleet_rollback_hook_for(config: SiteConfig) -> RollbackHook:
    """Balancer mode: roll back the hosts of the last fleet deploy through `premortem fleet
    rollback` (each back to its newest good release, one at a time, drained meanwhile)."""
    assert config.balancer is not None
    balancer = config.balancer

    def run(request: RollbackRequest) -> str:
        from premortem.ops.fleet.rollout import fleet_rollback

        if not balancer.inventory:
            raise PremortemError("the fleet config's [balancer] names no inventory")
        pattern = ":".join(request.hosts) or balancer.hosts_pattern
        lines: list[str] = []
        ok = fleet_rollback(Path(balancer.inventory), pattern, lines.append)
        if not ok:
            raise PremortemError(f"fleet rollback of {pattern} failed: " + " / ".join(lines[-4:]))
        return f"fleet rollback of {pattern}: every host back to its previous good release"

    return run


def fleet_diagnose_backends(config: SiteConfig) -> BackendDiagnoser:
    """Balancer mode's auto-diagnosis of the failing backends: `premortem fleet diagnose`
    (ops/fleet/diagnose.py) on those hosts of the [balancer] inventory, as its JSON dict
    (`hosts`: name, status healthy|failing, findings; `summary`); None when there is no
    inventory or the diagnosis could not run (recorded as `diagnosis.failed`)."""
    balancer = config.balancer

    def run(hosts: Sequence[str]) -> dict[str, Any] | None:
        if balancer is None or not balancer.inventory:
            return None
        from premortem.ops.fleet.diagnose import diagnose_fleet

        # An Ansible host pattern: the failing backends by name, else the whole web group.
        pattern = ",".join(hosts) if hosts else None
        try:
            return diagnose_fleet(config.url, Path(balancer.inventory), hosts=pattern).to_json()
        except PremortemError:
            return None

    return run


def rollback_hook_for(config: SiteConfig) -> RollbackHook:
    """Roll back through the deploy engine: to the release that was live before the deploy,
    which is then marked bad so that no later rollback picks it again."""

    def run(request: RollbackRequest) -> str:
        from premortem.ops.deploy.pipeline import rollback, site_layout
        from premortem.ops.deploy.releases import current_release_name, mark_bad

        layout = site_layout(config)
        bad = request.release or current_release_name(layout)
        why = f"rolled back by premortem watch (incident {request.incident_id})"
        result = rollback(config, to=request.previous, reason=why)
        if bad and bad != result.release:
            mark_bad(
                layout, bad, f"rolled back by premortem watch (incident {request.incident_id})"
            )
        verdict = "verified healthy" if result.ok else "verification FAILED"
        return f"current -> {result.release} (was {result.previous}), {verdict}"

    return run


@click.command()
@click.argument("urls", nargs=-1)
@CONFIG_OPTION
@STATE_DIR_OPTION
@_access_log_option("to follow")
@shown_option("--interval", kind=DURATION, default="5s", help="Probe interval.")
@_shown_option("timeout", DURATION, "5s", "probe_timeout")
@click.option("--webhook", help="POST a JSON notification (with a Slack-compatible text) here.")
@shown_option("--webhook-timeout", kind=DURATION, default="5s")
@shown_option(
    "--auto-diagnose/--no-auto-diagnose",
    default=True,
    help="Diagnose the site when an incident opens and store the result.",
)
@click.option(
    "--auto-rollback",
    is_flag=True,
    help="Roll back the last deploy when it happened shortly before the first error.",
)
@_shown_option("rollback-within", DURATION, "15m")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve Prometheus metrics on 127.0.0.1:PORT/metrics.",
)
@click.option(
    "--alertmanager-webhook",
    "alertmanager_port",
    type=click.IntRange(1, 65535),
    metavar="PORT",
    help="Receive Alertmanager's webhook on 127.0.0.1:PORT: a firing alert about the site "
    "opens an incident (contrib/alertmanager/alertmanager.yml shows the route).",
)
@_shown_option("probe-failures", click.IntRange(1), 2)
@_shown_option("error-rate", click.FloatRange(0, 100, min_open=True), 5.0)
@_shown_option("min-requests", click.IntRange(1), 20)
@_shown_option("window", DURATION, "30s")
@_shown_option("healthy", DURATION, "30s", "healthy_for")
@click.option(
    "--print-unit",
    is_flag=True,
    help="Print a systemd unit that runs this watch as a service, and exit.",
)
@pass_environment
def watch(
    environment: Environment,
    urls: tuple[str, ...],
    config_path: Path | None,
    state_dir: Path | None,
    access_log: Path | None,
    access_log_format: str,
    interval: float,
    probe_timeout: float,
    webhook: str | None,
    webhook_timeout: float,
    auto_diagnose: bool,
    auto_rollback: bool,
    rollback_within: float,
    metrics_port: int | None,
    alertmanager_port: int | None,
    probe_failures: int,
    error_rate: float,
    min_requests: int,
    window: float,
    healthy_for: float,
    print_unit: bool,
) -> None:
    """Probe the site and follow its access log; open an incident when it breaks.

    Runs in the foreground until Ctrl-C or SIGTERM. An incident opens after PROBE_FAILURES
    failed probes in a row of one URL, or when ERROR_RATE % of the requests of the last
    WINDOW answered 5xx (with at least MIN_REQUESTS requests), and resolves after HEALTHY
    without failures. Never changes the site, except --auto-rollback when asked for.

    With a fleet config (a [balancer] table, as `lab up --hosts N` writes) it watches at
    the load balancer: HAProxy's log and runtime API, an incident naming the failing
    backends, their hosts diagnosed, --auto-rollback rolling back the last fleet deploy.
    """
    if print_unit:
        from premortem.watch.unit import systemd_unit

        click.echo(systemd_unit(sys.argv[1:], site=urls[0] if urls else None), nl=False)
        return
    config = load_config(config_path, urls[0] if urls else None, environment.host)
    site = config.url if config else (urls[0] if urls else "")
    settings = WatchSettings(
        urls=probe_urls(config, urls),
        state_dir=resolve_state_dir(config, state_dir, urls[0] if urls else None),
        site=site,
        access_log=_access_log_of(config, access_log),
        site_log=site_log_of(config, url=site, spec=access_log_format),
        interval=interval,
        probe_timeout=probe_timeout,
        ca_file=config.ca_file if config else "",
        thresholds=Thresholds(
            probe_failures=probe_failures,
            error_rate=error_rate / 100.0,
            min_requests=min_requests,
            window=timedelta(seconds=window),
            healthy_for=timedelta(seconds=healthy_for),
        ),
        webhook=webhook,
        webhook_timeout=webhook_timeout,
        metrics_port=metrics_port,
        alertmanager_port=alertmanager_port,
        rollback_within=timedelta(seconds=rollback_within),
        balancer=_balancer_watch(config),
    )
    _require_something_to_watch(settings)
    watcher = _watcher(settings, config, config_path, auto_diagnose, auto_rollback)
    asyncio.run(_run_until_signalled(watcher))


def _balancer_watch(config: SiteConfig | None) -> BalancerWatch | None:
    """Balancer mode when the config is a fleet config (a [balancer] table)."""
    if config is None or config.balancer is None:
        return None
    balancer = config.balancer
    return BalancerWatch(
        admin_socket=balancer.admin_socket,
        backend=balancer.backend,
        event_stores=dict(balancer.event_stores),
    )


def _watcher(
    settings: WatchSettings,
    config: SiteConfig | None,
    config_path: Path | None,
    auto_diagnose: bool,
    auto_rollback: bool,
) -> Watcher:
    """The watch with its responses: at a balancer, the failing backends' diagnosis and a
    fleet rollback; else the site's diagnosis and rollback."""
    if config is not None and config.balancer is not None:
        return Watcher(
            settings,
            diagnose_backends=fleet_diagnose_backends(config) if auto_diagnose else None,
            rollback=fleet_rollback_hook_for(config) if auto_rollback else None,
            say=_say,
        )
    diagnose = _diagnosis_hook(settings, config_path) if auto_diagnose else None
    rollback = _rollback_hook(config) if auto_rollback else None
    return Watcher(settings, diagnose=diagnose, rollback=rollback, say=_say)


def _diagnosis_hook(settings: WatchSettings, config_path: Path | None) -> DiagnoseHook | None:
    """Diagnose the first probed URL in a child process (none without a URL to diagnose),
    with the premortem.toml the watch read; without one, diagnose finds the site itself."""
    from premortem.discovery import site_config_file

    if not settings.urls:
        return None
    command = diagnose_command(settings.urls[0], site_config_file(config_path, settings.site))
    return subprocess_diagnosis(command, settings.diagnose_timeout)


def _rollback_hook(config: SiteConfig | None) -> RollbackHook:
    if config is None:
        raise PremortemError("--auto-rollback needs --config FILE (the site's releases)")
    return rollback_hook_for(config)


def _require_something_to_watch(settings: WatchSettings) -> None:
    if not settings.urls and settings.access_log is None:
        raise PremortemError("nothing to watch: give URLs, --access-log, or --config FILE")
    for url in [*settings.urls, *([settings.webhook] if settings.webhook else [])]:
        _require_http_url(url)


def _require_http_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PremortemError(f"not an http(s) URL: {url!r} (example: http://127.0.0.1:8080/)")


def _say(message: str) -> None:
    err_console.print(f"[dim]{_clock()}[/] {message}", highlight=False)


def _clock() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%H:%M:%S")


async def _run_until_signalled(watcher: Watcher) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def stop_on(signum: signal.Signals) -> None:
        _say(f"{signum.name} received, stopping")
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop_on, signum)
    try:
        await watcher.run(stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    _say("watch stopped")


def _store_for(config_path: Path | None, state_dir: Path | None, url: str | None) -> Any:
    return open_store(
        resolve_state_dir(load_config(config_path, url), state_dir, url), create=False
    )


@click.command()
@URL_OPTION
@CONFIG_OPTION
@STATE_DIR_OPTION
@click.option("--status", type=click.Choice(["open", "resolved"]), help="Only these incidents.")
@format_option("text", "json", dest="fmt", show_default=True)
def incidents(
    site_url: str | None,
    config_path: Path | None,
    state_dir: Path | None,
    status: str | None,
    fmt: str,
) -> None:
    """List the site's incidents (id, status, first error, detection, resolution)."""
    state = resolve_state_dir(load_config(config_path, site_url), state_dir, site_url)
    if not store_path(state).exists():
        found = []
        err_console.print(f"no incidents recorded (no event store in {state} yet)")
    else:
        with open_store(state, create=False) as store:
            found = store.incidents(status=status)
    if fmt == "json":
        keys = (
            "id",
            "status",
            "title",
            "trigger",
            "first_error_at",
            "detected_at",
            "recovered_at",
            "resolved_at",
        )
        rows = [{k: incident.to_dict()[k] for k in keys} for incident in found]
        click.echo(json.dumps(rows, indent=2))
        return
    if not found:
        if store_path(state).exists():
            err_console.print("no incidents recorded")
        return
    table = Table("id", "status", "first error (UTC)", "detected", "resolved", "title")
    for incident in found:
        table.add_row(
            str(incident.id),
            incident.status,
            _short(incident.first_error_at),
            _short(incident.detected_at),
            _short(incident.resolved_at),
            incident.title,
        )
    console.print(table)


def _short(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


@click.command()
@click.argument("incident_id", type=int)
@click.argument("text")
@click.option(
    "--measure",
    is_flag=True,
    help="Record TEXT as a corrective measure (shown in the report) instead of a note.",
)
@URL_OPTION
@CONFIG_OPTION
@STATE_DIR_OPTION
def note(
    incident_id: int,
    text: str,
    measure: bool,
    site_url: str | None,
    config_path: Path | None,
    state_dir: Path | None,
) -> None:
    """Add a timeline entry (or a corrective measure) to incident INCIDENT_ID."""
    if not text.strip():
        raise PremortemError("the note is empty")
    with _store_for(config_path, state_dir, site_url) as store:
        if store.incident(incident_id) is None:
            raise PremortemError(f"no incident {incident_id} (see `premortem incidents`)")
        if measure:
            store.add_measure(incident_id, text.strip())
        else:
            store.add_event("note", text.strip(), incident_id=incident_id)
    err_console.print(f"{'measure' if measure else 'note'} added to incident {incident_id}")


@click.command()
@click.argument("incident_id", type=int)
@format_option("md", "html", "json", dest="fmt", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (Markdown: the chart goes beside it as FILE-stem.png).",
)
@URL_OPTION
@CONFIG_OPTION
@STATE_DIR_OPTION
@_access_log_option("to measure the impact from")
@pass_environment
def report(
    environment: Environment,
    incident_id: int,
    fmt: str,
    output: Path | None,
    site_url: str | None,
    config_path: Path | None,
    state_dir: Path | None,
    access_log: Path | None,
    access_log_format: str,
) -> None:
    """Write the postmortem of incident INCIDENT_ID from what was recorded.

    Issue summary, impact measured from the access log, timeline, detection and response
    times, root cause from the stored diagnosis, resolution, corrective measures.
    """
    from premortem.report.build import build_report, site_config_files

    config = load_config(config_path, site_url, environment.host if site_url else None)
    log = _access_log_of(config, access_log)
    site_log = site_log_of(config, url=site_url or "", spec=access_log_format)
    with open_store(resolve_state_dir(config, state_dir, site_url), create=False) as store:
        built = build_report(
            store,
            incident_id,
            access_log=log,
            site=config.url if config else (site_url or ""),
            config_files=site_config_files(config.server_config, config.docroot) if config else [],
            site_log=site_log,
            event_stores=config.balancer.event_stores if config and config.balancer else None,
        )
    if fmt == "json":
        _emit(json.dumps(built.to_dict(), indent=2) + "\n", output)
        return
    chart = backends = None
    if log is not None and built.impact is not None and built.impact.requests_total:
        from premortem.report.chart import draw_backends, draw_error_rate

        chart = draw_error_rate(built, log, site_log)
        if built.impact.per_backend:
            backends = draw_backends(built, log, site_log)
    if fmt == "html":
        from premortem.report.html import render_html

        _emit(render_html(built, chart, backends), output)
        return
    from premortem.report.markdown import render_markdown

    names: list[str | None] = [None, None]
    for index, (png, suffix) in enumerate(((chart, ".png"), (backends, "-backends.png"))):
        if png is not None and output is not None:
            png_path = output.with_name(output.stem + suffix)
            _write(png_path, png)
            names[index] = png_path.name
    _emit(render_markdown(built, names[0], names[1]), output)


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise PremortemError(f"cannot write {path}: {exc.strerror}") from None


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    _write(output, text.encode("utf-8"))
    err_console.print(f"wrote {output}")
