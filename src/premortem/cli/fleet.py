"""`premortem fleet`: rolling deploys, rollbacks and release lists across web hosts behind a
load balancer, run through Ansible (docs/fleet.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from premortem.cli.console import console, err_console
from premortem.errors import ExitStatus

INVENTORY_OPTION = click.option(
    "--inventory",
    "-i",
    "inventory",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The Ansible inventory (`premortem lab up --hosts N` writes DIR/inventory.ini).",
)
HOSTS_OPTION = click.option(
    "--hosts",
    "hosts_pattern",
    default="web",
    show_default=True,
    help="The inventory group of web hosts (all hosts when there is no such group).",
)
FORMAT_OPTION = click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text"
)


def _say(message: str) -> None:
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)


@click.group()
def fleet() -> None:
    """Web hosts behind a load balancer, through Ansible: deploy, rollback, releases."""


@fleet.command()
@click.argument("src", type=click.Path(path_type=Path, file_okay=False, exists=True))
@INVENTORY_OPTION
@HOSTS_OPTION
@click.option("--canary", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--no-check", is_flag=True, help="Skip the gate (premortem check of SRC).")
@click.option(
    "--watch-seconds",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="How long each host is watched under real traffic after it is back.",
)
@click.option("--max-error-rate", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--verify-seconds", type=click.FloatRange(min=0), default=5.0, show_default=True)
@FORMAT_OPTION
def deploy(
    src: Path,
    inventory: Path,
    hosts_pattern: str,
    canary: int,
    batch: int,
    no_check: bool,
    watch_seconds: float,
    max_error_rate: float,
    verify_seconds: float,
    output_format: str,
) -> ExitStatus:
    """Roll SRC out: check it once, then the canary and the rest in batches (drain, deploy,
    back in rotation, watch); the first failure rolls back every host already switched."""
    from premortem.ops.fleet.rollout import FleetDeployOptions, fleet_deploy

    options = FleetDeployOptions(
        canary=canary,
        batch=batch,
        check=not no_check,
        watch_seconds=watch_seconds,
        max_error_rate=max_error_rate,
        verify_seconds=verify_seconds,
        hosts_pattern=hosts_pattern,
    )
    result = fleet_deploy(src, inventory, options, progress=_say)
    if output_format == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    elif result.ok:
        console.print(f"[green]deployed[/] on {len(result.hosts)} hosts in {result.seconds:.1f}s")
    else:
        console.print(
            f"[red]{result.outcome}[/]: {result.failed_host or 'the gate'} failed at "
            f"{result.failed_step}: {result.reason}",
            soft_wrap=True,
        )
        if result.rolled_back:
            console.print(f"rolled back: {', '.join(result.rolled_back)}")
    return ExitStatus.OK if result.ok else ExitStatus.PROBLEMS


@fleet.command()
@INVENTORY_OPTION
@HOSTS_OPTION
def rollback(inventory: Path, hosts_pattern: str) -> ExitStatus:
    """Every host back to its newest good release before the current one, one at a time."""
    from premortem.ops.fleet.rollout import fleet_rollback

    ok = fleet_rollback(inventory, hosts_pattern, progress=_say)
    return ExitStatus.OK if ok else ExitStatus.PROBLEMS


@fleet.command()
@INVENTORY_OPTION
@HOSTS_OPTION
@FORMAT_OPTION
def releases(inventory: Path, hosts_pattern: str, output_format: str) -> None:
    """Every host's releases (as `premortem releases` lists them)."""
    from premortem.ops.fleet.rollout import fleet_releases

    found = fleet_releases(inventory, hosts_pattern)
    if output_format == "json":
        click.echo(json.dumps(found, indent=2))
        return
    for host in found:
        current = next((r["name"] for r in host["releases"] if r.get("current")), None)
        click.echo(f"{host['name']}: current {current}, {len(host['releases'])} releases")
