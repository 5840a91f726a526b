"""The report as Markdown, in the seed postmortem's structure, meant to be edited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from premortem.report.build import Report, human_duration
from premortem.report.impact import Impact

RESPONSE_LABELS = {
    "time_to_detect_seconds": "Time to detect (first failed request -> incident opened)",
    "time_to_diagnose_seconds": "Time to diagnose (incident opened -> diagnosis stored)",
    "time_to_recover_seconds": "Time to recover (first failed request -> last failure)",
    "time_to_resolve_seconds": "Time to resolve (incident opened -> declared healthy)",
}


def _t(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def impact_rows(impact: Impact) -> list[tuple[str, str]]:
    """The impact table's rows (measure, value), the same in Markdown and HTML."""
    return [
        ("requests", f"{impact.requests_total}"),
        ("failed requests (5xx)", f"{impact.requests_failed} ({impact.failed_percent:.1f}%)"),
        ("clients", f"{impact.clients_total}"),
        ("clients affected", f"{impact.clients_affected} ({impact.clients_affected_percent:.1f}%)"),
    ]


def backend_rows(impact: Impact) -> list[list[str]]:
    """The per-backend table's rows (backend, requests, failed, clients affected)."""
    return [
        [b.name, f"{b.requests}", f"{b.failed} ({b.failed_percent:.1f}%)", f"{b.clients_affected}"]
        for b in impact.per_backend
    ]


def worst_url_rows(impact: Impact) -> list[list[str]]:
    """The worst URLs table's rows (URL, failed, requests)."""
    return [[u.path, f"{u.failed}", f"{u.requests}"] for u in impact.worst_urls]


def _code_rows(rows: list[list[str]]) -> list[str]:
    """Table rows whose first cell is code (a name, a URL)."""
    return [f"| `{_cell(first)}` | " + " | ".join(rest) + " |" for first, *rest in rows]


def render_markdown(
    report: Report, chart_file: str | None = None, backends_chart_file: str | None = None
) -> str:
    incident = report.incident
    lines: list[str] = [
        f"# Postmortem: incident {incident.id} — {report.title}",
        "",
        f"Status: **{incident.status}**"
        + (f" · site: {report.site}" if report.site else "")
        + f" · generated {_t(report.generated_at)} by premortem",
        "",
        "## Issue Summary",
        "",
        report.summary,
        "",
        *_impact(report, chart_file, backends_chart_file),
        *_timeline(report),
        *_root_cause(report),
        "## Corrective and Preventative Measures",
        "",
        *(f"- {measure}" for measure in report.measures),
    ]
    if report.ci_job:
        lines += ["", "A ready CI job:", "", "```yaml", report.ci_job.rstrip(), "```"]
    return "\n".join(lines) + "\n"


def impact_section(impact: Impact) -> list[str]:
    """The measured part of a postmortem's Impact section (also `premortem impact --format md`)."""
    lines = [
        f"Measured from the access log between {_t(impact.window_start)} and "
        f"{_t(impact.window_end)} ({human_duration(impact.duration_seconds)}).",
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| {measure} | {value} |" for measure, value in impact_rows(impact)),
        "",
    ]
    if impact.per_backend:
        lines += [
            "Per backend (the server that answered, from the balancer's log):",
            "",
            "| backend | requests | failed (5xx) | clients affected |",
            "|---|---|---|---|",
        ]
        lines += _code_rows(backend_rows(impact))
        lines.append("")
    if impact.worst_urls:
        lines += ["Worst URLs:", "", "| URL | failed | requests |", "|---|---|---|"]
        lines += _code_rows(worst_url_rows(impact))
        lines.append("")
    return lines


def _impact(
    report: Report, chart_file: str | None, backends_chart_file: str | None = None
) -> list[str]:
    lines = ["## Impact", ""]
    if report.impact is not None:
        lines += impact_section(report.impact)
    if report.impact_note:
        lines += [f"_{report.impact_note}_", ""]
    if chart_file:
        lines += [f"![Error rate over time]({chart_file})", ""]
    if backends_chart_file:
        lines += [f"![5xx share per backend]({backends_chart_file})", ""]
    return lines


def _timeline(report: Report) -> list[str]:
    lines = ["## Timeline (UTC)", ""]
    lines += [
        f"- {entry.at:%Y-%m-%d %H:%M:%S} — **{entry.kind}**: {entry.text}"
        for entry in report.timeline
    ]
    lines += ["", "## Detection and Response", ""]
    lines += ["| measure | value |", "|---|---|"]
    lines += [
        f"| {label} | {human_duration(report.response.get(key))} |"
        for key, label in RESPONSE_LABELS.items()
    ]
    return lines


def _root_cause(report: Report) -> list[str]:
    lines = ["", "## Root Cause and Resolution", ""]
    root = report.root_cause
    if root is None:
        lines.append("No diagnosis was stored for this incident.")
    else:
        where = f"`{root.get('file')}` line {root.get('line')}" if root.get("file") else ""
        lines.append(f"**Root cause** ({root.get('rule')}): {root.get('message', '')}")
        if where:
            lines += ["", f"Location: {where}"]
        if root.get("confidence") is not None:
            lines += ["", f"Confidence: {float(root['confidence']):.0%}"]
        evidence = root.get("evidence") or []
        if evidence:
            lines += ["", "Evidence:", "", "```", *(str(item) for item in evidence), "```"]
        lines += _fix(root.get("fix") or {})
        if root.get("suggestion"):
            lines += ["", f"Suggestion: {root['suggestion']}"]
        others = report.findings[1:4]
        if others:
            lines += ["", "Other findings of the diagnosis:", ""]
            lines += [f"- {f.get('rule')}: {f.get('message', '')}" for f in others]
    lines += ["", f"**Resolution**: {report.resolution}", ""]
    return lines


def _fix(fix: dict[str, Any]) -> list[str]:
    if not fix:
        return []
    lines = ["", f"Fix: {fix.get('description', '')}"]
    lines += [
        f"- `{edit.get('file')}` line {edit.get('line')}: `{edit.get('old')}` → `{edit.get('new')}`"
        for edit in fix.get("edits", [])
    ]
    lines += [f"- `{command}`" for command in fix.get("commands", [])]
    return lines
