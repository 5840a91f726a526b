"""`premortem fleet`: rolling deploys, rollbacks and release lists across web hosts behind a
load balancer, run through Ansible (docs/fleet.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape

from premortem.cli.console import console, err_console
from premortem.cli.options import format_option, shown_option
from premortem.errors import ExitStatus

if TYPE_CHECKING:
    from premortem.ops.fleet.diagnose import FleetDiagnosis

INVENTORY_OPTION = click.option(
    "--inventory",
    "-i",
    "inventory",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The Ansible inventory (`premortem lab up --hosts N` writes DIR/inventory.ini).",
)
HOSTS_OPTION = shown_option(
    "--hosts",
    "hosts_pattern",
    default="web",
    help="The inventory group of web hosts (all hosts when there is no such group).",
)
FORMAT_OPTION = format_option("text", "json")


def _say(message: str) -> None:
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)


@click.group()
def fleet() -> None:
    """Web hosts behind a load balancer, through Ansible: deploy, rollback, releases,
    diagnose, fix."""


@fleet.command()
@click.argument("src", type=click.Path(path_type=Path, file_okay=False, exists=True))
@INVENTORY_OPTION
@HOSTS_OPTION
@shown_option("--canary", kind=click.IntRange(min=1), default=1)
@shown_option("--batch", kind=click.IntRange(min=1), default=1)
@click.option("--no-check", is_flag=True, help="Skip the gate (premortem check of SRC).")
@shown_option(
    "--watch-seconds",
    kind=click.FloatRange(min=0),
    default=10.0,
    help="How long each host is watched under real traffic after it is back.",
)
@shown_option("--max-error-rate", kind=click.FloatRange(0, 1), default=0.05)
@shown_option("--verify-seconds", kind=click.FloatRange(min=0), default=5.0)
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


URL_ARGUMENT = click.argument("url")


@fleet.command()
@URL_ARGUMENT
@INVENTORY_OPTION
@HOSTS_OPTION
@shown_option(
    "--sample",
    kind=click.IntRange(min=0, max=1000),
    default=30,
    help="Requests sent through the balancer (URL) to measure the failed share; 0: none.",
)
@FORMAT_OPTION
def diagnose(
    url: str, inventory: Path, hosts_pattern: str, sample: int, output_format: str
) -> ExitStatus:
    """`premortem diagnose` on every host at once, each against its own server, merged: which
    hosts fail and why (file:line), what they share, the balancer's failed share.

    URL is the balancer's address. Exit 0: every host healthy; 1: a host fails; 2: a host
    could not be diagnosed."""
    from premortem.ops.fleet.diagnose import diagnose_fleet, require_url

    result = diagnose_fleet(
        require_url(url), inventory, hosts_pattern, progress=_say, sample=sample
    )
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        _print_diagnosis(result)
    return result.exit_code


def _print_diagnosis(result: FleetDiagnosis) -> None:
    failing = len(result.failing)
    colour = "red" if failing else "green"
    console.print(
        f"[{colour}]{failing} of {len(result.hosts)} hosts failing[/] behind {escape(result.url)} "
        f"({result.seconds:.1f}s)",
        soft_wrap=True,
        highlight=False,
    )
    for host in result.hosts:
        cause = host.root_cause or {}
        line = f"  {host.name:<10} {host.status:<8}"
        if host.status == "failing":
            line += f" {cause.get('rule', '')} {host.where}: {cause.get('message', '')}"
            fix = (cause.get("fix") or {}).get("description")
            if fix:
                line += f"\n{'':<21} fix: {fix}"
        elif host.status == "unknown":
            line += f" {host.error}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    balancer = result.balancer
    if balancer is not None:
        text = (
            f"balancer: {balancer.failed} of {balancer.sent} requests failed ({balancer.share:.0%})"
        )
        servers = [
            f"{name} {s['errors']} of {s['responses']} answers failed"
            for name, s in balancer.servers.items()
            if s["errors"]
        ]
        if servers:
            text += "; HAProxy: " + ", ".join(servers)
        elif balancer.note:
            text += f" ({balancer.note})"
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    if result.common:
        console.print("the failing hosts:", highlight=False)
    for said in result.common:
        console.print(f"  - {said}", markup=False, highlight=False, soft_wrap=True)


@fleet.command()
@URL_ARGUMENT
@INVENTORY_OPTION
@HOSTS_OPTION
@click.option("--yes", "assume_yes", is_flag=True, help="Apply (without it: show the diffs).")
@FORMAT_OPTION
def fix(
    url: str, inventory: Path, hosts_pattern: str, assume_yes: bool, output_format: str
) -> ExitStatus:
    """The diagnosed fix on every failing host (`premortem fix` there: backup, atomic write,
    re-probe), then the whole fleet diagnosed again. Without --yes: what it would change.

    Exit 0: every host healthy after it (or the dry run); 1: a host still fails; 2: error."""
    from premortem.ops.fleet.diagnose import require_url
    from premortem.ops.fleet.fix import fix_fleet

    result = fix_fleet(require_url(url), inventory, hosts_pattern, assume_yes, progress=_say)
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
        return result.exit_code
    if not result.hosts:
        _print_diagnosis(result.before)
        console.print("nothing to fix" if not result.before.unknown else "nothing fixed")
        return result.exit_code
    for host in result.hosts:
        console.print(f"{host.name}: {host.cause}", markup=False, highlight=False)
        if host.diff:
            click.echo(host.diff)
        after = f" (now {host.status_after})" if host.status_after else ""
        said = host.message
        if said.startswith(("fixed:", "not fixed:")):
            said = said.split(":", 1)[1].strip()
        console.print(
            f"  {host.outcome}: {said}{after}", markup=False, highlight=False, soft_wrap=True
        )
    if result.after is not None:
        _print_diagnosis(result.after)
    else:
        console.print("dry run: nothing written; `--yes` applies it", highlight=False)
    return result.exit_code
