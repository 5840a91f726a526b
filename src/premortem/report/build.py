"""Assemble the postmortem of one incident from the store and the access log.

The sections follow the seed postmortem (Issue Summary, Timeline, Root Cause and
Resolution, Corrective and Preventative Measures) plus Impact and Detection and Response.
Nothing here is typed by a person except notes and measures added with `premortem note`.

A fleet incident (watched at the load balancer, a fleet config's `[balancer]`) is measured
from the balancer's log (per backend too), and its timeline merges every host's own events
(`event_stores`: each host's deploys, rollbacks, fixes, its own watch's incidents, in the
incident's time and the LOOKBACK before it) with the balancer watch's, each host's entries
prefixed with its name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from premortem.accesslog import SiteLog
from premortem.errors import PremortemError
from premortem.report.impact import Impact, measure_impact
from premortem.report.measures import ci_job, suggested_measures
from premortem.store import Event, Incident, Store, open_store, store_path, to_iso, utcnow

# Deploy steps and other changes shown in the timeline when they precede the first error
# by at most this much: the usual suspects, without weeks of history.
LOOKBACK = timedelta(hours=6)
TIMELINE_KINDS_BEFORE = (
    "deploy.start",
    "deploy.switch",
    "deploy.done",
    "deploy.failed",
    "rollback",
    "fix.applied",
    "fix.restored",
)
# A share of requests quoted by the detector's title: of its sliding window, not the incident.
QUOTED_SHARE = re.compile(r"\d+(?:\.\d+)?% of requests")
# Files in the docroot whose edit changes how the site is served (besides the server config).
SITE_CONFIG_NAMES = (".htaccess", "wp-config.php", ".user.ini")
# Directories beside the server config whose files it includes (Debian, RHEL layouts).
INCLUDED_CONFIG_DIRS = ("sites-enabled", "conf-enabled", "conf.d", "mods-enabled")
# Events that can end an incident, newest first wins.
RESOLUTION_KINDS = ("fix.applied", "rollback", "rollback.auto", "deploy.done")


@dataclass
class TimelineEntry:
    at: datetime
    kind: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": to_iso(self.at), "kind": self.kind, "text": self.text}


@dataclass
class Report:
    incident: Incident
    site: str
    summary: str
    timeline: list[TimelineEntry]
    impact: Impact | None
    impact_note: str | None
    response: dict[str, float | None]
    root_cause: dict[str, Any] | None
    findings: list[dict[str, Any]]
    diagnosed_at: datetime | None
    resolution: str
    measures: list[str]
    ci_job: str | None
    notes: list[Event] = field(default_factory=list)
    generated_at: datetime = field(default_factory=utcnow)
    marks: dict[str, datetime] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """The incident's title, with the measured impact rather than the detector's share."""
        return report_title(self.incident, self.impact)

    @property
    def window(self) -> tuple[datetime, datetime]:
        start = self.incident.first_error_at or self.incident.detected_at
        end = self.incident.resolved_at or self.generated_at
        return start, end

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident.to_dict(),
            "title": self.title,
            "site": self.site,
            "summary": self.summary,
            "timeline": [entry.to_dict() for entry in self.timeline],
            "impact": self.impact.to_dict() if self.impact else None,
            "impact_note": self.impact_note,
            "detection_and_response": self.response,
            "root_cause": self.root_cause,
            "findings": self.findings,
            "diagnosed_at": to_iso(self.diagnosed_at) if self.diagnosed_at else None,
            "resolution": self.resolution,
            "corrective_measures": self.measures,
            "ci_job": self.ci_job,
            "generated_at": to_iso(self.generated_at),
        }


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds(), 3)


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _where(finding: dict[str, Any]) -> str:
    file, line = finding.get("file"), finding.get("line")
    if file and line:
        return f" ({file}:{line})"
    return f" ({file})" if file else ""


def report_title(incident: Incident, impact: Impact | None) -> str:
    """The detector titles an incident with the share of its window when it opened (say 6%);
    the report measures the whole incident. With a measured impact the title says that one,
    and keeps the detector's words only when they quote no share that could contradict it."""
    if impact is None or impact.requests_total == 0:
        return incident.title
    measured = (
        f"{impact.failed_percent:.0f}% of requests answered 5xx "
        f"({impact.requests_failed} of {impact.requests_total})"
    )
    if QUOTED_SHARE.search(incident.title):
        return measured
    return f"{measured}; {incident.title}"


def build_report(
    store: Store,
    incident_id: int,
    *,
    access_log: Path | None,
    site: str = "",
    config_files: list[Path] | None = None,
    site_log: SiteLog | None = None,
    event_stores: dict[str, str] | None = None,
) -> Report:
    """The postmortem of incident `incident_id`; `config_files` (the server config, .htaccess,
    wp-config.php...) changed near the incident go into the timeline."""
    incident = store.incident(incident_id)
    if incident is None:
        raise PremortemError(f"no incident {incident_id} (see `premortem incidents`)")
    start = incident.first_error_at or incident.detected_at
    end = incident.resolved_at or utcnow()
    own_events = store.events(incident_id=incident_id)
    events = _incident_events(store, own_events, start, end)
    diagnoses = store.diagnoses(incident_id)
    findings = diagnoses[-1].findings if diagnoses else []
    root = findings[0] if findings else None
    impact, impact_note = _impact(access_log, start, end, site_log)
    diagnosed_at = next((e.at for e in own_events if e.kind == "diagnosis"), None)
    rule = str(root.get("rule")) if root else None
    watched = [
        *(config_files or []),
        *_diagnosed_changes(diagnoses[-1].result if diagnoses else {}),
    ]
    report = Report(
        incident=incident,
        site=site,
        summary="",
        timeline=_timeline(
            events,
            incident,
            config_changes(watched, start - LOOKBACK, end)
            + hosts_events(event_stores or {}, start, end),
        ),
        impact=impact,
        impact_note=impact_note,
        response={
            "time_to_detect_seconds": _seconds(incident.detected_at, incident.first_error_at),
            "time_to_diagnose_seconds": _seconds(diagnosed_at, incident.detected_at),
            "time_to_recover_seconds": _seconds(incident.recovered_at, incident.first_error_at),
            "time_to_resolve_seconds": _seconds(incident.resolved_at, incident.detected_at),
        },
        root_cause=root,
        findings=findings,
        diagnosed_at=diagnosed_at,
        resolution=_resolution(events, incident, start),
        measures=suggested_measures(rule) + [m.text for m in store.measures(incident_id)],
        ci_job=ci_job(rule),
        notes=[e for e in own_events if e.kind == "note"],
        marks=_marks(events, incident, start, diagnosed_at),
    )
    report.summary = _summary(report)
    return report


def _incident_events(
    store: Store, own_events: list[Event], start: datetime, end: datetime
) -> list[Event]:
    """The incident's own events and the changes just before it, in time order."""
    changes = [
        e
        for e in store.events(since=start - LOOKBACK, until=end, kinds=TIMELINE_KINDS_BEFORE)
        if e.incident_id is None
    ]
    # Earlier deploys and rollbacks that the site survived are history, not this incident:
    # the timeline starts with the last deploy before the first error.
    last_deploy = max(
        (e.at for e in changes if e.kind == "deploy.start" and e.at <= start), default=None
    )
    before = [e for e in changes if last_deploy is None or e.at >= last_deploy]
    return sorted({e.id: e for e in [*before, *own_events]}.values(), key=lambda e: (e.at, e.id))


def hosts_events(stores: dict[str, str], start: datetime, end: datetime) -> list[TimelineEntry]:
    """Each host's events for a fleet incident: its changes (deploys, rollbacks, fixes) in
    the LOOKBACK before the first error, everything it recorded during the incident; a
    host whose store cannot be read is said so in the timeline."""
    entries: list[TimelineEntry] = []
    for host, state_dir in sorted(stores.items()):
        if not store_path(Path(state_dir)).exists():
            continue  # nothing recorded on that host yet
        try:
            with open_store(Path(state_dir), create=False) as store:
                before = store.events(
                    since=start - LOOKBACK, until=start, kinds=TIMELINE_KINDS_BEFORE
                )
                during = store.events(since=start, until=end)
        except PremortemError as exc:
            entries.append(TimelineEntry(start, "host.unreadable", f"{host}: {exc}"))
            continue
        for event in {e.id: e for e in [*before, *during]}.values():
            entries.append(TimelineEntry(event.at, event.kind, f"{host}: {event.message}"))
    return entries


def site_config_files(server_config: str, docroot: str) -> list[Path]:
    """The files whose edit changes how a site is served: the server config and the files
    its usual include directories hold, and the docroot's .htaccess and wp-config.php."""
    files = [Path(docroot) / name for name in SITE_CONFIG_NAMES] if docroot else []
    if server_config:
        config = Path(server_config)
        files.append(config)
        for folder in INCLUDED_CONFIG_DIRS:
            directory = config.parent / folder
            if directory.is_dir():
                files += sorted(p for p in directory.iterdir() if p.is_file())
    return files


def _diagnosed_changes(result: dict[str, Any]) -> list[Path]:
    """Config files the incident's diagnosis saw changed (its `changes` evidence)."""
    changes = result.get("evidence", {}).get("changes") or {}
    root = str(changes.get("root") or "")
    return [
        Path(root) / str(change.get("path"))
        for change in changes.get("changed", [])
        if root and os.path.basename(str(change.get("path"))) in SITE_CONFIG_NAMES
    ]


def config_changes(files: list[Path], since: datetime, until: datetime) -> list[TimelineEntry]:
    """A `config.changed` entry for each file last modified between `since` and `until`
    (the time of its last edit: a file edited again after the incident shows that edit)."""
    entries: dict[str, TimelineEntry] = {}
    for path in files:
        try:
            modified = datetime.fromtimestamp(path.stat().st_mtime, since.tzinfo)
        except OSError:
            continue
        real = os.path.realpath(path)
        if since <= modified <= until and real not in entries:
            shown = str(path) if real == str(path) else f"{path} ({real})"
            entries[real] = TimelineEntry(modified, "config.changed", f"{shown} modified")
    return list(entries.values())


def _timeline(
    events: list[Event], incident: Incident, changes: list[TimelineEntry]
) -> list[TimelineEntry]:
    timeline = [TimelineEntry(e.at, e.kind, e.message) for e in events] + changes
    if incident.first_error_at is not None:
        timeline.append(
            TimelineEntry(
                incident.first_error_at,
                "first-error",
                "first failing request (access-log time: whole seconds)",
            )
        )
    return sorted(timeline, key=lambda entry: entry.at)


def _impact(
    access_log: Path | None, start: datetime, end: datetime, site_log: SiteLog | None
) -> tuple[Impact | None, str | None]:
    """The impact measured from the access log, or why it could not be."""
    if access_log is None:
        return None, "no access log configured: impact not measured"
    if not access_log.exists() and not access_log.parent.exists():
        return None, f"access log {access_log} not found: impact not measured"
    impact = measure_impact(access_log, start, end, site_log=site_log)
    if impact.requests_total == 0:
        return impact, (
            f"no request in {access_log} between {start:%H:%M:%S} and {end:%H:%M:%S} UTC "
            "(rotated away or not logged?)"
        )
    return impact, None


def _resolution(events: list[Event], incident: Incident, start: datetime) -> str:
    ended_by = [
        e
        for e in events
        if e.kind in RESOLUTION_KINDS
        and e.at >= start
        and (incident.recovered_at is None or e.at <= incident.recovered_at + timedelta(minutes=5))
    ]
    if ended_by:
        last = ended_by[-1]
        return f"{last.message} ({last.kind} at {last.at:%Y-%m-%d %H:%M:%S} UTC)."
    if incident.status == "resolved":
        return (
            "The site recovered without a recorded fix or rollback (a manual change?); "
            "record what was done with `premortem note`."
        )
    return "The incident is still open."


def _marks(
    events: list[Event], incident: Incident, start: datetime, diagnosed_at: datetime | None
) -> dict[str, datetime]:
    """The moments the impact chart marks: deploy, detection, diagnosis, recovery."""
    marks: dict[str, datetime] = {}
    # The first error's time is whole seconds (access log): a switch in that second counts.
    deploys = [
        e
        for e in events
        if e.kind in ("deploy.switch", "deploy.done") and e.at < start + timedelta(seconds=1)
    ]
    if deploys:
        marks["deploy"] = deploys[-1].at
    marks["detection"] = incident.detected_at
    if diagnosed_at:
        marks["diagnosis"] = diagnosed_at
    if incident.recovered_at:
        marks["recovery"] = incident.recovered_at
    return marks


def _summary(report: Report) -> str:
    incident = report.incident
    start, end = report.window
    parts = [
        f"From {start:%Y-%m-%d %H:%M:%S} to "
        + (f"{end:%Y-%m-%d %H:%M:%S} UTC" if incident.resolved_at else "now (still open)")
        + f" ({human_duration((end - start).total_seconds())})"
    ]
    impact = report.impact
    if impact is not None and impact.requests_total:
        parts.append(
            f", {impact.requests_failed} of {impact.requests_total} requests"
            f"{' to ' + report.site if report.site else ''} answered with a server error "
            f"({impact.failed_percent:.1f}%), affecting {impact.clients_affected} of "
            f"{impact.clients_total} clients ({impact.clients_affected_percent:.0f}%)."
        )
    else:
        parts.append(f", the site failed: {incident.title}.")
    if report.root_cause:
        parts.append(
            f" Root cause: {report.root_cause.get('message', '')}{_where(report.root_cause)}."
        )
    ttd = report.response["time_to_detect_seconds"]
    parts.append(
        f" premortem watch detected it {human_duration(ttd)} after the first failed request."
    )
    return "".join(parts)
