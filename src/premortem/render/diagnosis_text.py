"""The text of `premortem diagnose`: symptom, root cause with file:line, evidence and fix.

Rendered from the typed `Diagnosis`; every line goes through its redactor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console

from premortem.model import Finding
from premortem.redact import Redactor

if TYPE_CHECKING:
    from premortem.diagnosis import Diagnosis


class _Out:
    """The results console, without hard wrapping (quotes and paths stay on one line), and
    every line through the diagnosis's redactor: secrets never reach the terminal."""

    def __init__(self, console: Console, redactor: Redactor) -> None:
        self.console, self.redactor = console, redactor

    def print(self, text: str = "", **options: Any) -> None:
        options.setdefault("soft_wrap", True)
        self.console.print(self.redactor.redact(text), **options)


def render_diagnosis_text(diagnosis: Diagnosis, console: Console, *, explain: bool = False) -> None:
    """Symptom, root cause with file:line, the evidence, the fix, then the rest."""
    out = _Out(console, diagnosis.redactor)
    data = diagnosis.redactor.redact_data({"evidence": diagnosis.evidence, "url": diagnosis.url})
    requests = data["evidence"].get("requests", [])
    last = requests[-1] if requests else None
    if last is None:
        symptom = "no request could be made"
    elif last["status"] is not None:
        symptom = f"{last['status']} {last['reason']} in {last['seconds'] * 1000:.0f} ms"
    else:
        symptom = f"no answer ({last['error_kind']}: {last['error']})"
    out.print(f"[bold]{data['url']}[/]: {symptom}")
    findings = diagnosis.findings
    if not findings:
        out.print("[green]healthy[/]: nothing wrong found")
    for index, finding in enumerate(findings):
        if index == 0:
            out.print(
                "\n[bold red]root cause[/]"
                if finding.severity == "error"
                else "\n[bold yellow]most likely problem[/]"
            )
        elif index == 1:
            out.print("\n[bold]also seen[/]")
        _render_finding(out, finding, full=index == 0)
    for title, items in (
        ("could not see", diagnosis.could_not_see),
        ("internal errors", diagnosis.internal_errors),
    ):
        if items:
            out.print(f"\n[bold]{title}[/]")
            for item in items:
                out.print(f"  - {item}", markup=False)
    if explain:
        _render_explain(out, data)
    timings = diagnosis.timings
    spent = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items() if ":" not in k)
    out.print(f"\n[dim]diagnosed in {diagnosis.seconds:.2f} s ({spent})[/]")


def _render_finding(out: _Out, finding: Finding, *, full: bool) -> None:
    where = ""
    if finding.file:
        where = finding.file + (f":{finding.line}" if finding.line else "")
    head = f"  [{finding.severity}] {finding.rule}"
    if finding.confidence is not None:
        head += f" (confidence {round(finding.confidence, 3):.2f})"
    out.print(head, markup=False)
    out.print(f"    {finding.message}", markup=False)
    if where:
        out.print(f"    at {where}", markup=False)
    if not full:
        return
    for quote in finding.quoted:
        out.print(f"    | {quote}", markup=False)
    if finding.suggestion:
        out.print(f"    {finding.suggestion}", markup=False)
    fix = finding.fix
    if fix:
        out.print(f"    fix: {fix.description}", markup=False)
        for edit in fix.edits:
            out.print(f"      {edit.file}:{edit.line}: {edit.old!r} -> {edit.new!r}", markup=False)
        for command in fix.commands:
            out.print(f"      $ {command}", markup=False)


def _render_explain(out: _Out, data: dict[str, Any]) -> None:
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
