"""`premortem deploy`, `rollback`, `releases` and `fix`: the commands that change a site."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from premortem.cli import Environment, pass_environment
from premortem.cli.console import console, err_console
from premortem.cli.options import format_option, shown_option
from premortem.discovery import DEFAULT_CONFIG, config_drift, load_site
from premortem.errors import ExitStatus, PremortemError
from premortem.model import Finding
from premortem.readers.wpconfig import site_secrets
from premortem.redact import Redactor
from premortem.siteconfig import SiteConfig, read_site_config

if TYPE_CHECKING:
    from premortem.host import Host
    from premortem.ops.deploy import DeployResult

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The site's premortem.toml [default: ./premortem.toml; `premortem init URL` "
    "writes one, the lab writes <dir>/premortem.toml].",
)


def _say(message: str) -> None:
    err_console.print(f"[dim]premortem:[/] {message}", highlight=False)


def _load(config_path: Path | None) -> SiteConfig:
    config = read_site_config(config_path or DEFAULT_CONFIG)
    for problem in config_drift(config):
        _say(f"{config_path or DEFAULT_CONFIG}: {problem}")
    return config


@click.command()
@click.argument("src", type=click.Path(path_type=Path, file_okay=True, dir_okay=True))
@CONFIG_OPTION
@click.option("--no-check", is_flag=True, help="Skip the gate (premortem check of the release).")
@click.option("--no-stage", is_flag=True, help="Skip serving the release on a side port first.")
@click.option(
    "--no-replay",
    is_flag=True,
    help="Skip replaying users' recent URLs on the stage (premortem.toml `replay`).",
)
@shown_option(
    "--keep",
    kind=click.IntRange(min=2),
    default=5,
    help="Releases to keep (the current and previous ones are always kept).",
)
@shown_option(
    "--verify-seconds",
    kind=click.FloatRange(min=0),
    default=10.0,
    help="How long to watch production after the switch.",
)
@click.option(
    "--no-verify",
    is_flag=True,
    help="Skip watching production after the switch (no automatic rollback).",
)
@shown_option(
    "--max-error-rate",
    kind=click.FloatRange(0, 1),
    default=0.05,
    help="Share of 5xx in the access log during verification that fails it.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Check what the deploy needs and print its steps; change nothing.",
)
@format_option("text", "json")
def deploy(
    src: Path,
    config_path: Path | None,
    no_check: bool,
    no_stage: bool,
    no_replay: bool,
    keep: int,
    verify_seconds: float,
    no_verify: bool,
    max_error_rate: float,
    dry_run: bool,
    output_format: str,
) -> ExitStatus:
    """Deploy SRC (a directory) as a new release: copy, gate, stage, switch, verify.

    Exit 0 when the release is live (or, with --dry-run, could be deployed), 1 when it was
    stopped (nothing live changed) or rolled back, 2 when premortem could not do its job.
    """
    # Imported when the command runs: the CLI loads only what a command needs.
    from premortem.ops.deploy import DeployOptions
    from premortem.ops.deploy import deploy as run_deploy
    from premortem.ops.deploy.pipeline import plan_deploy
    from premortem.ops.deploy.steps import plan_to_dict

    config = _load(config_path)
    options = DeployOptions(
        check=not no_check,
        stage=not no_stage,
        replay=not no_replay,
        keep=keep,
        verify=not no_verify,
        verify_window=verify_seconds,
        max_error_rate=max_error_rate,
    )
    if dry_run:
        plan = plan_deploy(config, src, options)
        if output_format == "json":
            click.echo(json.dumps(plan_to_dict(plan), indent=2))
            return ExitStatus.OK
        console.print(
            f"[bold]dry run[/]: deploy {plan.src} as release {plan.name}; nothing changed"
        )
        for number, step in enumerate(plan.describe(), 1):
            console.print(f"  {number}. {step['step']}: {step['does']}", highlight=False)
        return ExitStatus.OK
    result = run_deploy(config, src, options, progress=_say)
    if output_format == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_deploy_result(result)
    return ExitStatus.OK if result.ok else ExitStatus.PROBLEMS


def _print_deploy_result(result: DeployResult) -> None:
    timings = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    if result.outcome == "deployed":
        console.print(f"[green]deployed[/] release {result.release} (previous {result.previous})")
        console.print(
            f"  {result.linked_files} files hard-linked, {result.copied_files} copied; "
            f"switch {result.switch_seconds:.2f}s ({'; '.join(result.refreshed)})"
        )
        console.print(
            f"  during the deploy: {result.user_requests} requests served to users, "
            f"{result.user_errors} answered 5xx (access log)"
        )
        if result.replay is not None:
            console.print(f"  replay: {result.replay.summary()}", highlight=False)
        if result.verify is not None:
            v = result.verify
            console.print(
                f"  verified {v.seconds:.1f}s: {v.probes} probes, {v.log_requests} requests "
                f"in the access log, {v.log_errors} 5xx"
            )
    elif result.outcome == "stopped":
        console.print(
            f"[red]stopped by the {result.stopped_at}[/]: release {result.release} is "
            f"marked bad; current is unchanged ({result.previous})"
        )
        console.print(f"  {result.reason}")
        if result.gate is not None:
            for line in result.gate.describe(limit=10):
                console.print(f"  {line}")
    elif result.outcome == "rolled-back":
        console.print(
            f"[red]rolled back[/]: release {result.release} failed verification "
            f"({result.reason}); current is {result.previous} again, "
            f"{result.rollback_seconds:.1f}s after the switch"
        )
        console.print(
            f"  failed requests between switch and rollback: "
            f"{result.user_errors_after_switch} (access log, premortem's probes left out)"
        )
    else:
        console.print(f"[red]failed[/]: {result.reason}")
    if result.removed:
        console.print(f"  removed old releases: {', '.join(result.removed)}")
    if timings:
        console.print(f"  steps: {timings}")


@click.command()
@CONFIG_OPTION
@click.option(
    "--replay",
    is_flag=True,
    required=True,
    help="Replay users' recent URLs (the access log) on a stage of the release.",
)
@click.option(
    "--against",
    "release",
    required=True,
    metavar="RELEASE",
    help="The release to stage: a name under releases/ or a directory.",
)
@format_option("text", "json")
def verify(config_path: Path | None, replay: bool, release: str, output_format: str) -> ExitStatus:
    """Replay users' recent URLs on a stage of RELEASE and compare with production, as
    deploy's replay step does (nothing live changes, nothing is marked). Exit 1 when a URL
    production serves fails on the stage."""
    from premortem.ops.deploy.pipeline import site_layout
    from premortem.ops.deploy.replay import settings_of, stage_replay

    del replay  # the only check `verify` runs today; the flag says what it does
    config = _load(config_path)
    path = Path(release)
    if not path.is_dir():
        path = site_layout(config).release_path(release)
    if not path.is_dir():
        raise PremortemError(f"no release {release!r}: not a directory nor under releases/")
    result = stage_replay(config, path, settings_of(config))
    if output_format == "json":
        click.echo(json.dumps({"release": str(path), **result.to_dict()}, indent=2))
    else:
        colour = "green" if result.ok else "red"
        verdict = "passed" if result.ok else "FAILED"
        console.print(f"[{colour}]replay {verdict}[/]: {path}", highlight=False)
        console.print(f"  {result.summary()}", highlight=False)
    return ExitStatus.OK if result.ok else ExitStatus.PROBLEMS


@click.command()
@CONFIG_OPTION
@click.option(
    "--to",
    "to",
    metavar="NAME",
    help="The release to switch to (default: the good release live before the current one).",
)
@shown_option("--verify-seconds", kind=click.FloatRange(min=0), default=10.0)
@click.option(
    "--reason",
    default="rolled back by hand (premortem rollback)",
    help="Why: recorded in the bad mark of the release rolled back from.",
)
def rollback(
    config_path: Path | None, to: str | None, verify_seconds: float, reason: str
) -> ExitStatus:
    """Switch `current` back to the release live before it (the deploy history), or --to
    NAME; the release left is marked bad (who, when, --reason). Atomic switch, graceful
    reload, verify."""
    from premortem.ops.deploy import DeployOptions
    from premortem.ops.deploy import rollback as run_rollback

    config = _load(config_path)
    result = run_rollback(
        config, to, DeployOptions(verify_window=verify_seconds), progress=_say, reason=reason
    )
    if result.ok:
        console.print(
            f"[green]rolled back[/] {result.previous} -> {result.release} "
            f"(switch {result.switch_seconds:.2f}s: {'; '.join(result.refreshed)}; verified)"
        )
        return ExitStatus.OK
    console.print(
        f"[red]rolled back[/] {result.previous} -> {result.release} but verification "
        f"failed: {result.verify.reason}"
    )
    return ExitStatus.PROBLEMS


@click.command()
@CONFIG_OPTION
@format_option("text", "json")
def releases(config_path: Path | None, output_format: str) -> None:
    """List the site's releases (name, path, current, bad, created)."""
    from premortem.ops.deploy import list_releases, site_layout

    config = _load(config_path)
    found = list_releases(site_layout(config))
    if output_format == "json":
        click.echo(json.dumps([r.to_dict() for r in found], indent=2))
        return
    if not found:
        console.print("no releases")
        return
    for release in found:
        mark = "current" if release.current else ""
        bad = f"bad: {release.bad_reason}"[:110] if release.bad else ""
        if release.bad and release.bad_by:
            bad += f" (by {release.bad_by}" + (f", {release.bad_at})" if release.bad_at else ")")
        click.echo(
            f"{release.name:<20} {release.created:%Y-%m-%d %H:%M:%S}  {mark:<8} {bad}".rstrip()
        )
    click.echo(f"(in {found[0].path.parent})")


@click.command()
@click.argument("url", required=False)
@CONFIG_OPTION
@click.option(
    "--from",
    "from_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A saved `premortem diagnose --format json` output to take the fix from.",
)
@click.option(
    "--finding",
    "finding_number",
    type=int,
    metavar="N",
    help="Which finding to fix (1-based; default: the first with file edits).",
)
@click.option("--dry-run", is_flag=True, help="Show the change; write nothing.")
@click.option("--yes", "assume_yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--export",
    "export_format",
    type=click.Choice(["shell", "puppet"]),
    help="Write the change as an idempotent shell script or Puppet manifest instead.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where --export writes (default: stdout).",
)
@shown_option(
    "--settle",
    kind=click.FloatRange(min=0),
    default=8.0,
    help="Seconds to wait for the site to answer < 500 after the change.",
)
@pass_environment
def fix(
    environment: Environment,
    url: str | None,
    config_path: Path | None,
    from_file: Path | None,
    finding_number: int | None,
    dry_run: bool,
    assume_yes: bool,
    export_format: str | None,
    output: Path | None,
    settle: float,
) -> ExitStatus:
    """Apply a diagnosis's fix: unified diff, backup, atomic write, re-probe, restore on failure."""
    from premortem.ops.remedy import (
        apply_plan,
        choose_finding,
        diagnosed_url,
        export_puppet,
        export_shell,
        load_findings,
        plan_fix,
    )

    if from_file is not None:
        url = url or diagnosed_url(from_file)
    config = load_site(config_path, url, environment.host, _say)
    if config is None:
        raise PremortemError("which site? give its URL, or --config FILE (a premortem.toml)")
    findings = (
        load_findings(from_file)
        if from_file is not None
        else _diagnose(config, url, environment.host)
    )
    finding = choose_finding(findings, finding_number)
    plan = plan_fix(finding, config)
    where = f"{finding.file}:{finding.line}" if finding.file else ""
    _say(f"finding: {finding.rule} {where} {finding.message}")
    if export_format is not None:
        text = export_shell(plan) if export_format == "shell" else export_puppet(plan)
        if output is None:  # bytes: a name that is not UTF-8 stays the file's own bytes
            click.echo(text.encode("utf-8", "surrogateescape"), nl=False)
        else:
            output.write_bytes(text.encode("utf-8", "surrogateescape"))
            if export_format == "shell":
                output.chmod(0o755)
            _say(f"wrote {output}")
        return ExitStatus.OK
    if not plan.changed:
        console.print("nothing to change: the fix is already applied")
        return ExitStatus.OK
    # The diff's context lines may come from wp-config.php: never print its secrets.
    diff = Redactor(site_secrets(config.docroot)).redact(plan.diff())
    click.echo(diff.encode("utf-8", "surrogateescape"), nl=False)  # the file's bytes
    for command in plan.commands:
        _say(f"also suggested (not run by premortem): {command}")
    if dry_run:
        _say("dry run: nothing written")
        return ExitStatus.OK
    if not assume_yes:
        if not sys.stdin.isatty():
            raise PremortemError("not applying without confirmation: pass --yes (or --dry-run)")
        if not click.confirm("apply this change?", err=True):
            _say("not applied")
            return ExitStatus.PROBLEMS
    outcome = apply_plan(plan, config, url=url, settle=settle)
    statuses = ", ".join(
        f"{p.path} {p.status if p.status is not None else p.error}" for p in outcome.probes
    )
    refreshed = "".join(f"; {done}" for done in outcome.refreshed)
    if outcome.healthy:
        console.print(
            f"[green]fixed[/]: {', '.join(outcome.files)}; site healthy ({statuses}); "
            f"backup in {outcome.backup_dir}{refreshed}"
        )
        return ExitStatus.OK
    console.print(
        f"[red]not fixed[/]: the site is still unhealthy ({statuses}); "
        f"restored {', '.join(outcome.files)} from {outcome.backup_dir}{refreshed}"
    )
    return ExitStatus.PROBLEMS


def _diagnose(config: SiteConfig, url: str | None, host: Host) -> list[Finding]:
    """Run diagnose in-process (it never modifies the site), on main()'s machine."""
    from premortem.diagnosis import DiagnoseOptions, diagnose

    options = DiagnoseOptions(url=url or config.url, config=config, progress=_say, host=host)
    result = diagnose(options)
    if result.status == "healthy" and not result.findings:
        raise PremortemError(f"{url or config.url} is healthy and diagnose found nothing to fix")
    return result.findings
