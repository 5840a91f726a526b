"""`premortem diagnose URL`: the root cause of a failing site, with the evidence."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from premortem.cli.console import console, err_console
from premortem.diagnosis import DiagnoseOptions, diagnose
from premortem.errors import PremortemError
from premortem.siteconfig import read_site_config

_RELATIVE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: float | None = None) -> float:
    """`2h`, `30m`, `1d` (ago) or an ISO date/time -> a Unix time."""
    now = time.time() if now is None else now
    match = _RELATIVE_RE.match(text.strip())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise PremortemError(
            f"--since {text!r} is neither a duration (30m, 2h, 1d) nor an ISO time "
            "(2026-11-26T01:00)"
        ) from None


@click.command(name="diagnose")
@click.argument("url")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="premortem.toml of the site (default: discover from the URL and the host).",
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
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option("--explain", is_flag=True, help="Also show the evidence each collector gathered.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.5, max=120),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the site's answer.",
)
def diagnose_command(
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
    config = read_site_config(config_file) if config_file else None

    def progress(message: str) -> None:
        err_console.print(f"[dim]diagnose: {message}[/]")

    result = diagnose(
        DiagnoseOptions(
            url=url,
            config=config,
            trace=trace,
            since=parse_since(since_text) if since_text else None,
            baseline=str(baseline) if baseline else None,
            timeout=timeout,
            progress=progress,
        )
    )
    data = result.to_dict()
    if output_format == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        render_text(data, explain=explain)
    return result.exit_code


class _Out:
    """The results console, without hard wrapping: quotes and paths stay on one line."""

    def print(self, text: str = "", **options: Any) -> None:
        options.setdefault("soft_wrap", True)
        console.print(text, **options)


def render_text(data: dict[str, Any], *, explain: bool = False) -> None:
    """Symptom, root cause with file:line, the evidence, the fix, then the rest (redacted data)."""
    out = _Out()
    requests = data["evidence"].get("requests", [])
    last = requests[-1] if requests else None
    if last is None:
        symptom = "no request could be made"
    elif last["status"] is not None:
        symptom = f"{last['status']} {last['reason']} in {last['seconds'] * 1000:.0f} ms"
    else:
        symptom = f"no answer ({last['error_kind']}: {last['error']})"
    out.print(f"[bold]{data['url']}[/]: {symptom}")
    findings = data["findings"]
    if not findings:
        out.print("[green]healthy[/]: nothing wrong found")
    for index, finding in enumerate(findings):
        if index == 0:
            out.print(
                "\n[bold red]root cause[/]"
                if finding["severity"] == "error"
                else "\n[bold yellow]most likely problem[/]"
            )
        elif index == 1:
            out.print("\n[bold]also seen[/]")
        _render_finding(finding, full=index == 0)
    if data["could_not_see"]:
        out.print("\n[bold]could not see[/]")
        for item in data["could_not_see"]:
            out.print(f"  - {item}", markup=False)
    if explain:
        _render_explain(data)
    timings = data["timings"]
    spent = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items() if ":" not in k)
    out.print(f"\n[dim]diagnosed in {data['seconds']:.2f} s ({spent})[/]")


def _render_finding(finding: dict[str, Any], *, full: bool) -> None:
    out = _Out()
    where = ""
    if finding.get("file"):
        where = finding["file"] + (f":{finding['line']}" if finding.get("line") else "")
    confidence = finding.get("confidence")
    head = f"  [{finding['severity']}] {finding['rule']}"
    if confidence is not None:
        head += f" (confidence {confidence:.2f})"
    out.print(head, markup=False)
    out.print(f"    {finding['message']}", markup=False)
    if where:
        out.print(f"    at {where}", markup=False)
    if not full:
        return
    for quote in finding.get("evidence", []):
        out.print(f"    | {quote}", markup=False)
    if finding.get("suggestion"):
        out.print(f"    {finding['suggestion']}", markup=False)
    fix = finding.get("fix")
    if fix:
        out.print(f"    fix: {fix['description']}", markup=False)
        for edit in fix["edits"]:
            out.print(
                f"      {edit['file']}:{edit['line']}: {edit['old']!r} -> {edit['new']!r}",
                markup=False,
            )
        for command in fix["commands"]:
            out.print(f"      $ {command}", markup=False)


def _render_explain(data: dict[str, Any]) -> None:
    out = _Out()
    evidence = data["evidence"]
    out.print("\n[bold]evidence[/]")
    for request in evidence.get("requests", []):
        out.print(
            f"  http: GET {request['url']} -> {request['status']} "
            f"{request['error_kind'] or ''} ({request['seconds'] * 1000:.0f} ms)",
            markup=False,
        )
    server = evidence.get("server")
    if server:
        out.print(
            f"  server: port {server['port']} kind={server['kind']} master={server['master_pid']} "
            f"workers={server['worker_pids']} users={server['worker_users']}",
            markup=False,
        )
        apache = server.get("apache")
        if apache:
            out.print(
                f"  config: {apache['config_file']} DocumentRoot={apache['docroot']} "
                f"ErrorLog={apache['error_log']} CustomLog={apache['access_log']} "
                f"mod_php={apache['php_module_loaded']} php={apache['php_settings']}",
                markup=False,
            )
    database = evidence.get("database")
    if database:
        state = f"runs (pid {database['pid']})" if database["running"] else "not running"
        out.print(
            f"  database: the site's MariaDB/MySQL {state}; log={database['log_file'] or '?'} "
            f"run dirs={database['run_dirs']}",
            markup=False,
            soft_wrap=True,
        )
    trace = evidence.get("trace")
    if trace:
        out.print(
            f"  trace: {trace['syscalls']} syscalls from pids {trace['attached_pids']} "
            f"in {trace['seconds'] * 1000:.0f} ms",
            markup=False,
        )
        for failed in trace["failed"][:40]:
            label = "CAUSE" if failed["cause"] else "noise"
            out.print(
                f"    {label}: {failed['call']}  [{failed['reason']}]", markup=False, soft_wrap=True
            )
    logs = evidence.get("logs")
    if logs:
        ours = [x for x in logs["lines"] if x["this_request"]]
        out.print(
            f"  logs: {', '.join(logs['error_logs'])}: {len(ours)} line(s) of this request; "
            f"recent statuses {logs['recent_status_counts']}",
            markup=False,
        )
        for line in ours[:10]:
            out.print(f"    {line['line']}", markup=False)
    changes = evidence.get("changes")
    if changes:
        out.print(
            f"  changes ({changes['basis']}): {len(changes['changed'])} file(s)",
            markup=False,
            soft_wrap=True,
        )
        for change in changes["changed"][:10]:
            out.print(
                f"    {change['kind']} {change['path']} {change['mtime'] or ''}",
                markup=False,
                soft_wrap=True,
            )
    host = evidence.get("host")
    if host:
        for disk in host["disks"]:
            out.print(
                f"  host: {disk['path']}: {disk['free_bytes'] // 2**20} MB free, "
                f"{disk['free_inodes']} inodes free",
                markup=False,
            )
