"""The error-rate chart of a report: 5xx share of requests over time, from the access log,
with the deploy, detection, diagnosis and recovery marked. Drawn with matplotlib (its object
API and the Agg canvas: no display, no global pyplot state) into PNG bytes that the HTML
report embeds and the Markdown report links.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from premortem.accesslog import SiteLog
from premortem.report.build import Report
from premortem.report.impact import backend_error_series, error_rate_series

MARK_STYLES: dict[str, tuple[str, str]] = {
    "deploy": ("#1f77b4", "deploy"),
    "detection": ("#d62728", "detection"),
    "diagnosis": ("#9467bd", "diagnosis"),
    "recovery": ("#2ca02c", "recovery"),
}
# A deploy older than this before the first error is not drawn: it would squash the chart.
DEPLOY_SPAN = timedelta(minutes=30)


def chart_range(report: Report) -> tuple[datetime, datetime]:
    start, end = report.window
    margin = max(timedelta(seconds=30), (end - start) * 0.15)
    first = start - margin
    deploy = report.marks.get("deploy")
    if deploy is not None and start - deploy <= DEPLOY_SPAN:
        first = min(first, deploy - timedelta(seconds=10))
    return first, end + margin


def draw_error_rate(report: Report, access_log: Path, site_log: SiteLog | None = None) -> bytes:
    """PNG bytes of the chart. Uses matplotlib's object API (no pyplot global state)."""
    first, last = chart_range(report)
    times, rates, totals = error_rate_series(access_log, first, last, site_log=site_log)

    def x(moment: datetime) -> float:
        return (moment - first).total_seconds()

    figure = Figure(figsize=(10, 3.6), dpi=100)
    axis = figure.add_subplot()
    bars = axis.twinx()
    xs = [x(t) for t in times]
    width = xs[1] - xs[0] if len(xs) > 1 else 1.0
    bars.bar(xs, totals, width=width, align="edge", color="#cccccc", alpha=0.6)
    bars.set_ylabel("requests per bucket")
    axis.set_zorder(bars.get_zorder() + 1)
    axis.patch.set_visible(False)
    axis.step(xs, rates, where="post", color="#d62728", linewidth=2)
    axis.set_ylim(0, 105)
    axis.set_xlim(0, x(last))
    axis.set_ylabel("5xx share of requests (%)")
    start, end = report.window
    axis.axvspan(x(start), x(end), color="#d62728", alpha=0.06)
    axis.step(xs[:1], rates[:1], color="#d62728", linewidth=2, label="5xx share")
    for name, moment in sorted(report.marks.items(), key=lambda item: item[1]):
        if first <= moment <= last:
            color, label = MARK_STYLES[name]
            axis.axvline(
                x(moment),
                color=color,
                linestyle="--",
                linewidth=1.5,
                label=f"{label} {moment:%H:%M:%S}",
            )
    # Marks seconds apart would print over each other as text; a legend keeps them legible.
    axis.legend(loc="upper right", fontsize=8, framealpha=0.9)
    axis.xaxis.set_major_formatter(
        FuncFormatter(lambda value, _pos: f"{first + timedelta(seconds=value):%H:%M:%S}")
    )
    axis.set_xlabel("UTC")
    axis.set_title(f"Incident {report.incident.id}: error rate over time")
    return _png(figure)


def _png(figure: Figure) -> bytes:
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def draw_backends(
    report: Report, access_log: Path, site_log: SiteLog | None = None
) -> bytes | None:
    """PNG bytes of the per-backend chart of a load balancer's log: each backend's 5xx share
    over time, one line per backend, the marks as in the error-rate chart; None when the
    log names no backend."""
    first, last = chart_range(report)
    times, rates = backend_error_series(access_log, first, last, site_log=site_log)
    rates.pop("<NOSRV>", None)
    if not rates:
        return None

    def x(moment: datetime) -> float:
        return (moment - first).total_seconds()

    figure = Figure(figsize=(10, 3.6), dpi=100)
    axis = figure.add_subplot()
    xs = [x(t) for t in times]
    for name, series in rates.items():
        axis.step(xs, series, where="post", linewidth=2, label=name)
    start, end = report.window
    axis.axvspan(x(start), x(end), color="#d62728", alpha=0.06)
    for name, moment in sorted(report.marks.items(), key=lambda item: item[1]):
        if first <= moment <= last:
            color = MARK_STYLES[name][0]
            axis.axvline(x(moment), color=color, linestyle="--", linewidth=1, alpha=0.7)
    axis.set_ylim(0, 105)
    axis.set_xlim(0, x(last))
    axis.set_ylabel("5xx share of its answers (%)")
    axis.legend(loc="upper right", fontsize=8, framealpha=0.9, title="backend")
    axis.xaxis.set_major_formatter(
        FuncFormatter(lambda value, _pos: f"{first + timedelta(seconds=value):%H:%M:%S}")
    )
    axis.set_xlabel("UTC")
    axis.set_title(f"Incident {report.incident.id}: 5xx share per backend (balancer's log)")
    return _png(figure)
