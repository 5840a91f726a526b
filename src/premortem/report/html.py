"""The report as one self-contained HTML page (CSS inline, the chart embedded as PNG)."""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from premortem.report.build import Report, human_duration
from premortem.report.impact import Impact
from premortem.report.markdown import (
    RESPONSE_LABELS,
    backend_rows,
    impact_rows,
    worst_url_rows,
)

STYLE = """
body { font-family: -apple-system, "DejaVu Sans", Arial, sans-serif; max-width: 980px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 3px solid #d62728; padding-bottom: .3em; }
h2 { font-size: 1.25em; margin-top: 1.6em; color: #333; }
table { border-collapse: collapse; margin: .6em 0; }
td, th { border: 1px solid #ccc; padding: .3em .7em; text-align: left; }
th { background: #f3f3f3; }
.status { display: inline-block; padding: .1em .6em; border-radius: 1em; color: #fff;
          background: #2ca02c; }
.status.open { background: #d62728; }
.summary { background: #fff6f6; border-left: 4px solid #d62728; padding: .6em 1em; }
.kind { font-family: monospace; color: #555; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
code { background: #f6f8fa; padding: 0 .2em; }
img.chart { max-width: 100%; border: 1px solid #ddd; }
"""


def render_html(report: Report, chart_png: bytes | None, backends_png: bytes | None = None) -> str:
    out = [
        *_head(report),
        *_impact(report, chart_png, backends_png),
        *_timeline(report),
        *_root_cause(report),
        *_measures(report),
        "</body></html>",
    ]
    return "\n".join(out) + "\n"


def _head(report: Report) -> list[str]:
    incident, e = report.incident, escape
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Postmortem: incident {incident.id}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Postmortem: incident {incident.id} — {e(report.title)}</h1>",
        f'<p><span class="status {e(incident.status)}">{e(incident.status)}</span> '
        + (f"site {e(report.site)} · " if report.site else "")
        + f"generated {report.generated_at:%Y-%m-%d %H:%M:%S} UTC by premortem</p>",
        "<h2>Issue Summary</h2>",
        f'<p class="summary" id="summary">{e(report.summary)}</p>',
    ]


def _impact(
    report: Report, chart_png: bytes | None, backends_png: bytes | None = None
) -> list[str]:
    e = escape
    out = ["<h2>Impact</h2>"]
    impact = report.impact
    if impact is not None:
        out.append(
            f"<p>Measured from the access log between "
            f"{impact.window_start:%Y-%m-%d %H:%M:%S} and {impact.window_end:%H:%M:%S} UTC "
            f"({human_duration(impact.duration_seconds)}).</p>"
        )
        out.append('<table id="impact"><tr><th>measure</th><th>value</th></tr>')
        out += [f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in impact_rows(impact)]
        out.append("</table>")
        out += _per_backend(impact)
        if impact.worst_urls:
            out.append("<table><tr><th>worst URLs</th><th>failed</th><th>requests</th></tr>")
            out += _code_rows(worst_url_rows(impact))
            out.append("</table>")
    if report.impact_note:
        out.append(f"<p><em>{e(report.impact_note)}</em></p>")
    if chart_png:
        data = base64.b64encode(chart_png).decode("ascii")
        out.append(
            f'<p><img class="chart" id="chart" alt="Error rate over time" '
            f'src="data:image/png;base64,{data}"></p>'
        )
    if backends_png:
        data = base64.b64encode(backends_png).decode("ascii")
        out.append(
            f'<p><img class="chart" id="backends-chart" alt="5xx share per backend" '
            f'src="data:image/png;base64,{data}"></p>'
        )
    return out


def _code_rows(rows: list[list[str]]) -> list[str]:
    """Table rows whose first cell is code (a name, a URL)."""
    return [
        f"<tr><td><code>{escape(first)}</code></td>"
        + "".join(f"<td>{c}</td>" for c in rest)
        + "</tr>"
        for first, *rest in rows
    ]


def _per_backend(impact: Impact) -> list[str]:
    """The per-backend table of a load balancer's log (none for a server's own log)."""
    if not impact.per_backend:
        return []
    out = [
        '<table id="per-backend"><tr><th>backend</th><th>requests</th><th>failed (5xx)</th>'
        "<th>clients affected</th></tr>"
    ]
    out += _code_rows(backend_rows(impact))
    out.append("</table>")
    return out


def _timeline(report: Report) -> list[str]:
    e = escape
    out = ["<h2>Timeline (UTC)</h2>", "<table><tr><th>time</th><th>event</th><th></th></tr>"]
    out += [
        f'<tr><td>{entry.at:%Y-%m-%d %H:%M:%S}</td><td class="kind">{e(entry.kind)}</td>'
        f"<td>{e(entry.text)}</td></tr>"
        for entry in report.timeline
    ]
    out += ["</table>", "<h2>Detection and Response</h2>", "<table>"]
    out += [
        f"<tr><td>{e(label)}</td><td>{human_duration(report.response.get(key))}</td></tr>"
        for key, label in RESPONSE_LABELS.items()
    ]
    out.append("</table>")
    return out


def _root_cause(report: Report) -> list[str]:
    e = escape
    out = ["<h2>Root Cause and Resolution</h2>", '<div id="root-cause">']
    root = report.root_cause
    if root is None:
        out.append("<p>No diagnosis was stored for this incident.</p>")
    else:
        out.append(
            f"<p><strong>Root cause</strong> ({e(str(root.get('rule')))}): "
            f"{e(str(root.get('message', '')))}</p>"
        )
        if root.get("file"):
            out.append(
                f"<p>Location: <code>{e(str(root.get('file')))}</code> line "
                f"{e(str(root.get('line')))}</p>"
            )
        evidence = root.get("evidence") or []
        if evidence:
            out.append("<pre>" + e("\n".join(str(item) for item in evidence)) + "</pre>")
        out += _fix(root.get("fix") or {})
    out.append(f"<p><strong>Resolution</strong>: {e(report.resolution)}</p></div>")
    return out


def _fix(fix: dict[str, Any]) -> list[str]:
    if not fix:
        return []
    e = escape
    out = [f"<p>Fix: {e(str(fix.get('description', '')))}</p><ul>"]
    out += [
        f"<li><code>{e(str(edit.get('file')))}</code> line {e(str(edit.get('line')))}: "
        f"<code>{e(str(edit.get('old')))}</code> → <code>{e(str(edit.get('new')))}</code>"
        "</li>"
        for edit in fix.get("edits", [])
    ]
    out += [f"<li><code>{e(str(c))}</code></li>" for c in fix.get("commands", [])]
    out.append("</ul>")
    return out


def _measures(report: Report) -> list[str]:
    e = escape
    out = ["<h2>Corrective and Preventative Measures</h2>", "<ul>"]
    out += [f"<li>{e(measure)}</li>" for measure in report.measures]
    out.append("</ul>")
    if report.ci_job:
        out += ["<p>A ready CI job:</p>", f"<pre>{e(report.ci_job)}</pre>"]
    return out
