"""The text of `premortem diagnose`: symptom, root cause with file:line, evidence and fix.

Rendered from the typed `Diagnosis` (its findings and its `EvidenceSet`, not the JSON's dict);
every line goes through its redactor.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console

from premortem.model import Finding
from premortem.php.walk import printable
from premortem.redact import Redactor

if TYPE_CHECKING:
    from premortem.collectors import EvidenceSet
    from premortem.collectors.changes import ChangesEvidence
    from premortem.collectors.http import HttpEvidence
    from premortem.collectors.logs import LogEvidence
    from premortem.collectors.trace import TraceEvidence
    from premortem.diagnosis import Diagnosis

LOG_LINES_KEPT = 50


class _Out:
    """The results console, without hard wrapping (quotes and paths stay on one line), and
    every line through the diagnosis's redactor: secrets never reach the terminal; bytes
    of a name that are not UTF-8 shown as \\xNN."""

    def __init__(self, console: Console, redactor: Redactor) -> None:
        self.console, self.redactor = console, redactor

    def print(self, text: str = "", **options: Any) -> None:
        options.setdefault("soft_wrap", True)
        self.console.print(printable(self.redactor.redact(text)), **options)


def render_diagnosis_text(diagnosis: Diagnosis, console: Console, *, explain: bool = False) -> None:
    """Symptom, root cause with file:line, the evidence, the fix, then the rest."""
    out = _Out(console, diagnosis.redactor)
    out.print(f"[bold]{diagnosis.url}[/]: {_symptom(diagnosis.requests)}")
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
        _render_explain(out, diagnosis.evidence, diagnosis.requests)
    spent = ", ".join(f"{k} {_ms(v)} ms" for k, v in diagnosis.timings.items() if ":" not in k)
    out.print(f"\n[dim]diagnosed in {round(diagnosis.seconds, 3):.2f} s ({spent})[/]")


def _ms(seconds: float) -> str:
    # Rounded as the JSON rounds it (4 decimals), so that text and JSON agree.
    return f"{round(seconds, 4) * 1000:.0f}"


def _symptom(requests: list[HttpEvidence]) -> str:
    last = requests[-1] if requests else None
    if last is None:
        return "no request could be made"
    if last.status is not None:
        return f"{last.status} {last.reason} in {_ms(last.seconds)} ms"
    return f"no answer ({last.error_kind}: {last.error})"


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


def _render_explain(out: _Out, evidence: EvidenceSet, requests: list[HttpEvidence]) -> None:
    """What each collector gathered (--explain)."""
    out.print("\n[bold]evidence[/]")
    for request in requests:
        out.print(
            f"  http: GET {request.url} -> {request.status} "
            f"{request.error_kind or ''} ({_ms(request.seconds)} ms)",
            markup=False,
        )
    _explain_server(out, evidence)
    _explain_trace(out, evidence.trace)
    _explain_logs(out, evidence.logs)
    _explain_changes(out, evidence.changes)
    for disk in evidence.host.disks if evidence.host else []:
        out.print(
            f"  host: {disk.path}: {disk.free_bytes // 2**20} MB free, "
            f"{disk.free_inodes} inodes free",
            markup=False,
        )


def _explain_server(out: _Out, evidence: EvidenceSet) -> None:
    server, database = evidence.server, evidence.database
    if server:
        out.print(
            f"  server: port {server.port} kind={server.kind} master={server.master_pid} "
            f"workers={server.worker_pids} users={server.worker_users}",
            markup=False,
        )
    apache = server.apache if server else None
    if apache:
        out.print(
            f"  config: {apache.config_file} DocumentRoot={apache.docroot} "
            f"ErrorLog={apache.error_log} CustomLog={apache.access_log} "
            f"mod_php={apache.php_module_loaded} php={apache.php_settings}",
            markup=False,
        )
    if database:
        state = f"runs (pid {database.pid})" if database.running else "not running"
        out.print(
            f"  database: the site's MariaDB/MySQL {state}; log={database.log_file or '?'} "
            f"run dirs={database.run_dirs}",
            markup=False,
        )


def _explain_trace(out: _Out, trace: TraceEvidence | None) -> None:
    if trace is None:
        return
    out.print(
        f"  trace: {trace.syscall_count} syscalls from pids {trace.attached_pids} "
        f"in {_ms(trace.seconds)} ms",
        markup=False,
    )
    for failed in trace.failed[:40]:
        label = "CAUSE" if failed.is_cause else "noise"
        out.print(f"    {label}: {failed.call.raw}  [{failed.reason}]", markup=False)


def _explain_logs(out: _Out, logs: LogEvidence | None) -> None:
    if logs is None:
        return
    # The last lines, as many as the JSON keeps (LogEvidence.to_dict).
    ours = [line for line in logs.lines[-LOG_LINES_KEPT:] if line.this_request]
    statuses = {str(k): v for k, v in sorted(logs.recent_status_counts.items())}
    out.print(
        f"  logs: {', '.join(logs.error_logs)}: {len(ours)} line(s) of this request; "
        f"recent statuses {statuses}",
        markup=False,
    )
    for line in ours[:10]:
        out.print(f"    {line.raw}", markup=False)


def _explain_changes(out: _Out, changes: ChangesEvidence | None) -> None:
    if changes is None:
        return
    out.print(f"  changes ({changes.basis}): {len(changes.changed)} file(s)", markup=False)
    for change in changes.changed[:10]:
        mtime = datetime.fromtimestamp(change.mtime).isoformat() if change.mtime else ""
        out.print(f"    {change.kind} {change.path} {mtime}", markup=False)
