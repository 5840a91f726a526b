"""`premortem lab`: a real web stack (Apache + mod_php or nginx + php-fpm), MariaDB and
WordPress on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from premortem.cli.console import console, err_console
from premortem.cli.options import format_option, shown_option
from premortem.ops.packages import LAB_PACKAGES, ensure_packages

# The lab's flavours (ops.lab.servers.SERVER_NAMES, not imported: the CLI loads the lab lazily).
LAB_SERVERS = ("apache", "nginx", "apache-fpm")

if TYPE_CHECKING:
    from premortem.ops.lab import Lab
    from premortem.ops.lab.fleet import Fleet

DIR_OPTION = shown_option(
    "--dir",
    "lab_dir",
    kind=click.Path(file_okay=False, path_type=Path),
    default="/srv/premortem-lab",
    help="The lab's directory.",
)


def _lab(lab_dir: Path) -> Lab:
    # Imported lazily so `premortem --help` does not load httpx.
    from premortem.ops.lab import Lab

    return Lab(
        lab_dir, progress=lambda message: err_console.print(message, markup=False, soft_wrap=True)
    )


def _fleet(lab_dir: Path) -> Fleet | None:
    """The fleet lab at lab_dir (`lab up --hosts N`), or None for a single-host lab."""
    from premortem.ops.lab.fleet import Fleet, is_fleet

    if not is_fleet(lab_dir):
        return None
    return Fleet(
        lab_dir, progress=lambda message: err_console.print(message, markup=False, soft_wrap=True)
    )


@click.group()
def lab() -> None:
    """A real local stack (Apache or nginx + PHP + MariaDB + WordPress on 127.0.0.1) with faults."""


@lab.command()
def deps() -> None:
    """Install the Debian packages the lab needs (only those missing)."""
    installed = ensure_packages(LAB_PACKAGES)
    if installed:
        err_console.print(f"installed: {' '.join(installed)}")
    else:
        err_console.print("all lab packages are installed")


@lab.command()
@DIR_OPTION
@shown_option("--port", kind=click.IntRange(1, 65535), default=8080)
@click.option(
    "--server",
    type=click.Choice(LAB_SERVERS),
    default=None,
    help="Web server: apache (mod_php), nginx (php-fpm) or apache-fpm (Apache + php-fpm). "
    "Default: the lab's, else apache.",
)
@click.option(
    "--tls/--no-tls",
    default=None,
    help="Serve https://premortem-lab.test:PORT/ with the lab's own throwaway CA (trusted by "
    "premortem.toml's ca_file only). Default: the lab's, else plain HTTP.",
)
@click.option(
    "--hosts",
    type=click.IntRange(1, 40),
    default=None,
    help="A fleet lab: N web hosts (network namespaces with sshd) behind HAProxy on "
    "127.0.0.1:PORT, one MariaDB, an Ansible inventory (docs/fleet.md).",
)
def up(lab_dir: Path, port: int, server: str | None, tls: bool | None, hosts: int | None) -> None:
    """Start the lab (installing packages and WordPress on first use); idempotent."""
    fleet = _fleet(lab_dir)
    if hosts is not None or fleet is not None:
        if tls:
            raise click.UsageError("--tls is not available for a fleet lab (--hosts)")
        from premortem.ops.lab.fleet import Fleet

        fleet = fleet or Fleet(lab_dir)
        state = fleet.state
        count = hosts or (state.hosts if state else 1)
        console.print(fleet.up(hosts=count, port=port, server=server)["url"])
        return
    status = _lab(lab_dir).up(port=port, server=server, tls=tls)
    console.print(status.url)


@lab.command()
@DIR_OPTION
@format_option("text", "json", dest="fmt", show_default=True)
def status(lab_dir: Path, fmt: str) -> None:
    """Show where the lab is and whether it runs (exit 1 when it does not)."""
    fleet = _fleet(lab_dir)
    if fleet is not None:
        _print_fleet_status(fleet.status(), fmt)
        return
    current = _lab(lab_dir).status()
    if fmt == "json":
        console.print_json(json.dumps(current.to_dict()))
    else:
        state = "running" if current.running else "not running"
        console.print(f"lab {state}: {current.url}")
        for key in ("dir", "config", "docroot", "access_log", "error_log", "release"):
            console.print(f"  {key}: {getattr(current, key)}")
        console.print(f"  server: {current.server}")
        from premortem.ops.lab.servers import server_named

        for service in server_named(current.server).services:
            pids = current.pids.get(service, [])
            console.print(f"  {service}: {'up' if pids else 'down'} pids {pids}")
        console.print(f"  mariadb: {'up' if current.db_running else 'down'}", end="")
        console.print(f" on 127.0.0.1:{current.db_port} pids {current.pids.get('mariadb', [])}")
        console.print(f"  fault: {current.fault or 'none'}")
    if not current.running:
        raise click.exceptions.Exit(1)


def _print_fleet_status(status: dict[str, object], fmt: str) -> None:
    if fmt == "json":
        console.print_json(json.dumps(status))
    else:
        state = "running" if status["running"] else "not running"
        console.print(f"fleet lab {state}: {status['url']} (HAProxy)")
        for key in ("dir", "inventory", "subnet", "bridge", "fault"):
            console.print(f"  {key}: {status[key]}")
        for host in status["hosts"]:  # type: ignore[attr-defined]
            up = "up" if host["running"] else "down"
            console.print(f"  {host['name']}: {host['url']} {up} release {host['release']}")
    if not status["running"]:
        raise click.exceptions.Exit(1)


@lab.command()
@DIR_OPTION
def down(lab_dir: Path) -> None:
    """Stop the lab's web server, php-fpm and MariaDB (exactly what it started); keep data."""
    (_fleet(lab_dir) or _lab(lab_dir)).down()


@lab.command()
@DIR_OPTION
def destroy(lab_dir: Path) -> None:
    """Stop the lab and remove its directory."""
    (_fleet(lab_dir) or _lab(lab_dir)).destroy()


@lab.command(name="break")
@DIR_OPTION
@click.option("--list", "list_only", is_flag=True, help="Describe the scenarios and exit.")
@format_option("text", "json", dest="fmt", show_default=True)
@click.option(
    "--server",
    type=click.Choice(LAB_SERVERS),
    default=None,
    help="With --list: the flavour to list for. Default: the lab's at --dir, else apache.",
)
@click.option("--host", "host_name", default=None, help="A fleet lab: the host to break.")
@click.argument("scenario", required=False)
def break_(
    lab_dir: Path,
    list_only: bool,
    fmt: str,
    server: str | None,
    host_name: str | None,
    scenario: str | None,
) -> None:
    """Inject the fault SCENARIO into the running lab (`lab repair` undoes it)."""
    from premortem.ops.lab import all_scenarios

    if list_only:
        flavour, tls = _flavour_of(lab_dir)
        scenarios = all_scenarios(server or flavour, tls=tls)
        if fmt == "json":
            console.print_json(json.dumps([s.to_dict() for s in scenarios]))
            return
        for item in scenarios:
            console.print(f"[bold]{item.name}[/]: {item.description}", soft_wrap=True)
        return
    if scenario is None:
        raise click.UsageError("name a SCENARIO (see `premortem lab break --list`)")
    fleet = _fleet(lab_dir)
    if fleet is not None:
        fleet.break_scenario(scenario, host_name)
        return
    if host_name is not None:
        raise click.UsageError(f"--host: {lab_dir} is not a fleet lab (`lab up --hosts N`)")
    _lab(lab_dir).break_scenario(scenario)


def _flavour_of(lab_dir: Path) -> tuple[str, bool]:
    """The flavour of the lab at lab_dir and whether it is a TLS lab; (apache, False) where
    there is none (or it is unreadable)."""
    from premortem.errors import PremortemError
    from premortem.ops.lab.core import LabState
    from premortem.ops.lab.layout import LabPaths

    try:
        state = LabState.load(LabPaths(lab_dir).lab_json)
    except (PremortemError, OSError):
        state = None
    return (state.server, state.tls) if state else ("apache", False)


@lab.command()
@DIR_OPTION
def repair(lab_dir: Path) -> None:
    """Undo the injected fault: files restored byte for byte, services restarted."""
    fleet = _fleet(lab_dir)
    if fleet is not None:
        fleet.repair()
        return
    restored = _lab(lab_dir).repair()
    for path in restored:
        err_console.print(f"  restored {path}", markup=False)
