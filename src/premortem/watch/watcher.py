"""The watch loop: probes + access-log tail -> detector -> incidents, events, hooks, webhook.

Everything the watch observes that matters later is recorded in the site's store as it
happens: `watch.start`/`watch.stop`, `probe.failed`/`probe.recovered` (on each change, not
each probe), `incident.open`, `diagnosis`/`diagnosis.failed`, `rollback.auto`,
`webhook.failed`, `incident.resolved`; at a load balancer also `backend.state` (a server's
state changed in HAProxy's stats: UP, DOWN, MAINT...) and `balancer.unreachable`. A store
that is deleted or replaced while the watch runs is reopened (and an open incident
re-recorded in it); a store that cannot be written (its disk full, say) is reported on
stderr and the watch goes on watching: what it could not record is kept in memory, in order
and with its own times (at most `MAX_PENDING` writes), and recorded as soon as the store can
be written again, so that no incident or event is lost to a disk that filled up during the
outage (a full disk is a common cause of one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from premortem.accesslog import SiteLog
from premortem.errors import PremortemError
from premortem.store import Event, Incident, Store, open_store, store_path
from premortem.watch.alertmanager import AlertReceiver
from premortem.watch.balancer import ServerStat, read_stats
from premortem.watch.detector import IncidentDetector, Opened, Resolved, Thresholds
from premortem.watch.hooks import DiagnoseHook
from premortem.watch.logtail import LogTail
from premortem.watch.metrics import WatchMetrics
from premortem.watch.probes import ProbeResult, new_client, probe_all
from premortem.watch.webhook import WebhookNotifier, incident_payload

# Rolls back the last deploy; returns what it did. Called in a worker thread.
RollbackHook = Callable[["RollbackRequest"], str]

DEPLOY_EVENT_KINDS = ("deploy.switch", "deploy.done")
# Balancer mode: diagnoses the failing backends (hosts) by name; its JSON, or None when no
# diagnosis could be made. Called in a worker thread.
BackendDiagnoser = Callable[[Sequence[str]], "dict[str, Any] | None"]


@dataclass(frozen=True)
class BalancerWatch:
    """Balancer mode (a fleet config's [balancer]): HAProxy's runtime API socket and
    backend, and each host's event store (where the last fleet deploy is found)."""

    admin_socket: str
    backend: str = "web"
    event_stores: dict[str, str] = field(default_factory=dict)
    # How often `show stat` is read.
    stats_interval: float = 1.0


# Writes kept in memory while the store cannot be written (each a few hundred bytes).
MAX_PENDING = 10_000


@dataclass
class _IncidentSlot:
    """The incident being handled; `incident` is None until the store has recorded it."""

    incident: Incident | None = None


@dataclass(frozen=True)
class RollbackRequest:
    """What --auto-rollback asks for: undo the deploy that switched to `release`, going back
    to `previous` (both from the deploy's own events, when it recorded them)."""

    incident_id: int
    deployed_at: datetime
    release: str | None
    previous: str | None
    # Balancer mode: the hosts of the last fleet deploy (each rolled back).
    hosts: tuple[str, ...] = ()


@dataclass
class WatchSettings:
    urls: list[str]
    state_dir: Path
    site: str = ""
    access_log: Path | None = None
    # The log's format and, for a shared log, which of its lines are the site's.
    site_log: SiteLog = field(default_factory=SiteLog)
    interval: float = 5.0
    probe_timeout: float = 5.0
    # A CA bundle trusted for the site's certificate (premortem.toml `ca_file`).
    ca_file: str = ""
    thresholds: Thresholds = field(default_factory=Thresholds)
    webhook: str | None = None
    webhook_timeout: float = 5.0
    metrics_port: int | None = None
    # Receive Alertmanager's webhook (v4) on 127.0.0.1:PORT: its alerts open incidents.
    alertmanager_port: int | None = None
    diagnose_timeout: float = 120.0
    # With --auto-rollback, how long the rollback waits for the diagnosis to finish.
    diagnose_before_rollback: float = 30.0
    # Roll back automatically only when the last deploy happened this shortly before the
    # first error: an older deploy is unlikely to be the cause, and rolling back weeks of
    # releases blindly would do more harm.
    rollback_within: timedelta = timedelta(minutes=15)
    # How often the log is read and the thresholds evaluated.
    tick: float = 0.2
    # At a load balancer: its runtime API and the hosts behind it (None: one site).
    balancer: BalancerWatch | None = None


def now_utc() -> datetime:
    return datetime.now(UTC)


class Watcher:
    def __init__(
        self,
        settings: WatchSettings,
        *,
        diagnose: DiagnoseHook | None = None,
        rollback: RollbackHook | None = None,
        say: Callable[[str], None] = lambda _message: None,
        diagnose_backends: BackendDiagnoser | None = None,
    ) -> None:
        self.settings = settings
        self.diagnose_hook = diagnose
        self.diagnose_backends = diagnose_backends
        self.rollback_hook = rollback
        self.say = say
        self.detector = IncidentDetector(settings.thresholds)
        self.metrics = WatchMetrics(
            site=settings.site or (settings.urls[0] if settings.urls else "")
        )
        self.incident: Incident | None = None
        # The open incident, recorded or not yet (self.incident is the recorded one).
        self._slot: _IncidentSlot | None = None
        # Store writes that failed, replayed in order when the store can be written again.
        self._pending: list[Callable[[Store], object]] = []
        self._flushing = False
        self._store: Store | None = None
        self._tail: LogTail | None = None
        self._probe_state: dict[str, bool] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._webhook: WebhookNotifier | None = None
        self._alerts: AlertReceiver | None = None
        self._stats_error: str | None = None
        # True while the response to an incident (diagnosis, rollback) runs: the incident
        # is not resolved under it, and its effects (a graceful reload) do not open another.
        self._responding = False

    # -- store -------------------------------------------------------------------------------

    def store(self) -> Store:
        """The store, reopened if its file was deleted or replaced under us."""
        if self._store is not None and self._store.file_replaced():
            self.say(f"the event store {self._store.path} was removed or replaced; reopening it")
            self._store.close()
            self._store = None
        if self._store is None:
            self._store = open_store(self.settings.state_dir)
            if (
                self.incident is not None
                and self._store.incident(self.incident.id) != self.incident
            ):
                previous = self.incident
                self.incident = self._store.open_incident(
                    title=previous.title,
                    trigger=previous.trigger,
                    detected_at=previous.detected_at,
                    first_error_at=previous.first_error_at,
                    data={**previous.data, "recorded_again_after_store_loss": previous.id},
                )
                if self._slot is not None:
                    self._slot.incident = self.incident  # its events go to the new record
        return self._store

    def record(self, kind: str, message: str, **data: Any) -> None:
        slot, at = self._slot, now_utc()

        def write(store: Store) -> None:
            incident = slot.incident if slot is not None else None
            store.add_event(kind, message, data=data, at=at,
                            incident_id=incident.id if incident else None)  # fmt: skip

        self._write(kind, write)

    def _write(self, what: str, action: Callable[[Store], object]) -> bool:
        """Run `action` on the store now, or keep it (after those kept before) until the store
        can be written again; True when it was written now."""
        self._flush()
        if not self._pending:
            try:
                action(self.store())
                return True
            except PremortemError as exc:
                self.say(f"could not record {what}: {exc}; keeping what happens in memory "
                         "until the store can be written")  # fmt: skip
        if len(self._pending) >= MAX_PENDING:
            self.say(f"could not record {what}: {MAX_PENDING} writes wait already; dropped")
        else:
            self._pending.append(action)
        return False

    def _flush(self) -> None:
        """Record what was kept while the store could not be written, oldest first."""
        if self._flushing:
            return
        written = 0
        self._flushing = True
        try:
            while self._pending:
                try:
                    self._pending[0](self.store())
                except PremortemError:
                    break
                self._pending.pop(0)
                written += 1
        finally:
            self._flushing = False
        if written and not self._pending:
            self.say(f"the event store can be written again: recorded {written} kept write(s)")

    # -- lifecycle ---------------------------------------------------------------------------

    def follow_log(self) -> None:
        """Start following the access log from its end (run() does this; so can tests)."""
        if self.settings.access_log is not None and self._tail is None:
            self._tail = LogTail(self.settings.access_log)

    def close(self) -> None:
        if self._tail is not None:
            self._tail.close()
            self._tail = None
        if self._store is not None:
            self._store.close()
            self._store = None

    async def run(self, stop: asyncio.Event) -> None:
        self._start()
        client = new_client(self.settings.ca_file)
        loops = [asyncio.create_task(self._probe_loop(client, stop))]
        if self.settings.balancer is not None and self.settings.balancer.admin_socket:
            loops.append(asyncio.create_task(self._stats_loop(self.settings.balancer, stop)))
        try:
            await self._tick_loop(stop)
        finally:
            for task in loops:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await client.aclose()
            await self._stop()

    def _start(self) -> None:
        """Adopt an incident left open, start metrics, webhook and log, record the start."""
        s = self.settings
        open_ones = self.store().incidents(status="open")
        if open_ones:
            self.incident = open_ones[-1]
            self._slot = _IncidentSlot(self.incident)
            self._adopt_probe_state()
            self.detector.adopt_open_incident(now_utc())
            self.metrics.open_incidents.set(1)
            self.say(
                f"incident {self.incident.id} is still open (since "
                f"{self.incident.detected_at:%Y-%m-%d %H:%M:%S} UTC); watching for recovery"
            )
        if s.metrics_port is not None:
            self.metrics.serve(s.metrics_port)
            self.say(f"metrics on http://127.0.0.1:{s.metrics_port}/metrics")
        if s.alertmanager_port is not None:
            self._alerts = AlertReceiver(s.alertmanager_port, s.site)
            self._alerts.serve()
            self.say(f"Alertmanager webhook on http://127.0.0.1:{s.alertmanager_port}/")
        if s.webhook:
            self._webhook = WebhookNotifier(
                s.webhook,
                timeout=s.webhook_timeout,
                on_failure=self._webhook_failed,
            )
        self.follow_log()
        self.record(
            "watch.start",
            f"watching {', '.join(s.urls) or 'no URL'}"
            + (f" and {s.access_log}" if s.access_log else ""),
            urls=s.urls,
            access_log=str(s.access_log) if s.access_log else None,
            access_log_format=s.site_log.describe() if s.access_log else None,
            thresholds=s.thresholds.to_dict(),
        )
        self.say(
            f"watching {len(s.urls)} URL(s) every {s.interval:g} s"
            + (
                f" and the access log {s.access_log} ({s.site_log.describe()})"
                if s.access_log
                else ""
            )
        )

    def _adopt_probe_state(self) -> None:
        """Probes found failing by the watch before (its last probe.failed not followed by a
        probe.recovered): their recovery is recorded, their failure is not recorded twice."""
        for event in self.store().events(kinds=("probe.failed", "probe.recovered")):
            url = event.data.get("url")
            if isinstance(url, str):
                self._probe_state[url] = event.kind == "probe.recovered"

    def _webhook_failed(self, reason: str, payload: dict[str, Any]) -> None:
        """A notification not delivered, recorded against the incident it was about (which
        may be resolved, or followed by another, by the time the receiver has timed out)."""
        incident_id, at = payload["incident"]["id"], now_utc()
        self._write("webhook.failed", lambda store: store.add_event(
            "webhook.failed", f"webhook not delivered: {reason}", data={"event": payload["event"]},
            at=at, incident_id=incident_id))  # fmt: skip

    async def _stop(self) -> None:
        """Let hooks and notifications end (briefly), then record the stop and close."""
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._webhook is not None:
            await self._webhook.drain(grace=1.0)
            self._webhook = None  # closed: what is recorded from now on notifies no one
        self.metrics.stop()
        if self._alerts is not None:
            self._alerts.stop()
        self.record("watch.stop", "watch stopped")
        if self._pending:
            self.say(f"the event store still cannot be written: {len(self._pending)} write(s) "
                     "not recorded")  # fmt: skip
        self.close()

    async def _probe_loop(self, client: Any, stop: asyncio.Event) -> None:
        s = self.settings
        if not s.urls:
            return
        while not stop.is_set():
            started = asyncio.get_running_loop().time()
            try:
                for result in await probe_all(client, s.urls, s.probe_timeout):
                    self._observe_probe(result)
            except Exception as exc:  # a monitor must outlive its own surprises
                self.say(f"probe round failed: {type(exc).__name__}: {exc}")
            elapsed = asyncio.get_running_loop().time() - started
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, s.interval - elapsed))

    async def _stats_loop(self, balancer: BalancerWatch, stop: asyncio.Event) -> None:
        """Read HAProxy's `show stat` every stats_interval (in a thread: a socket read)."""
        while not stop.is_set():
            try:
                servers = await asyncio.to_thread(
                    read_stats, balancer.admin_socket, balancer.backend
                )
            except PremortemError as exc:
                self._stats_failed(str(exc))
            except Exception as exc:  # a monitor must outlive its own surprises
                self.say(f"reading HAProxy's stats failed: {type(exc).__name__}: {exc}")
            else:
                self.observe_stats(servers, now_utc())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), balancer.stats_interval)

    def _stats_failed(self, reason: str) -> None:
        """Said and recorded once per episode, not every second."""
        if self._stats_error is None:
            self.say(reason)
            self.record("balancer.unreachable", reason)
        self._stats_error = reason

    def observe_stats(self, servers: list[ServerStat], now: datetime) -> None:
        """One `show stat` read of the backend's servers: counters, states, metrics."""
        if self._stats_error is not None:
            self.say("HAProxy's stats are readable again")
            self._stats_error = None
        for server, before in self.detector.observe_backend_stats(now, servers):
            self.record(
                "backend.state",
                f"{server.describe()} (was {before})",
                backend=server.name,
                status=server.status,
                previous=before,
                check=server.check,
            )
            self.say(f"backend {server.describe()} (was {before})")
        for server in servers:
            self.metrics.record_backend_state(server.name, server.up)

    def _observe_probe(self, result: ProbeResult) -> None:
        self.detector.observe_probe(result)
        self.metrics.record_probe(result)
        was_ok = self._probe_state.get(result.url, True)
        self._probe_state[result.url] = result.ok
        if was_ok and not result.ok:
            self.record(
                "probe.failed",
                f"probe failed: {result.describe()}",
                url=result.url,
                status=result.status,
                error=result.error,
            )
        elif not was_ok and result.ok:
            self.record(
                "probe.recovered", f"probe passes again: {result.describe()}", url=result.url
            )

    async def _tick_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.tick(now_utc())
            except Exception as exc:  # a monitor must outlive its own surprises
                self.say(f"watch step failed: {type(exc).__name__}: {exc}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.tick)

    def tick(self, now: datetime) -> None:
        """Read new log lines, evaluate the thresholds, act on a transition."""
        self._flush()
        if self._tail is not None:
            for line in self._tail.poll():
                record = self.settings.site_log.parse(line)
                if record is None:
                    continue
                self.detector.observe_request(record, now)
                self.metrics.record_request(record.status, record.server)
        for alert in self._alerts.received() if self._alerts is not None else []:
            self.detector.observe_alert(alert)
            state = "firing" if alert.firing else "resolved"
            self.record(f"alert.{state}", f"Alertmanager: {alert.describe()} ({state})",
                        labels=alert.labels)  # fmt: skip
        transition = self.detector.evaluate(now, may_resolve=not self._responding)
        self.metrics.record_window(self.detector.counts(now))
        if self.settings.balancer is not None:
            self.metrics.record_failing_backends(self.detector.failing_backends(now))
        if isinstance(transition, Opened):
            self._on_open(transition)
        elif isinstance(transition, Resolved):
            self._on_resolve(transition)

    # -- transitions -------------------------------------------------------------------------

    def _on_open(self, opened: Opened) -> None:
        latency = (opened.detected_at - opened.first_error_at).total_seconds()
        data = {**opened.data, "detection_seconds": round(latency, 3)}
        slot = self._slot = _IncidentSlot()

        def write(store: Store) -> None:
            slot.incident = store.open_incident(
                title=opened.title,
                trigger=opened.trigger,
                detected_at=opened.detected_at,
                first_error_at=opened.first_error_at,
                data=data,
            )
            if self._slot is slot:
                self.incident = slot.incident
            self._notify("incident.open", slot.incident,
                         f"first failure {opened.first_error_at:%H:%M:%S} UTC")  # fmt: skip

        self.metrics.open_incidents.set(1)
        self.metrics.incidents_opened.inc()
        recorded = self._write("the incident", write)
        self.say(
            f"incident {slot.incident.id if slot.incident else '(not recorded yet)'} opened: "
            f"{opened.title}; first failure at {opened.first_error_at:%H:%M:%S}, "
            f"detected {latency:.1f} s later"
        )
        if recorded and slot.incident is not None and self._responds():
            self._spawn(self._respond(slot.incident))

    def _on_resolve(self, resolved: Resolved) -> None:
        slot = self._slot
        if slot is None:
            return
        message = resolved.message

        def write(store: Store) -> None:
            assert slot.incident is not None  # written before, in order
            incident = store.resolve_incident(
                slot.incident.id,
                resolved_at=resolved.resolved_at,
                recovered_at=resolved.recovered_at,
                message=f"incident {slot.incident.id} resolved: {message}",
            )
            self._notify("incident.resolved", incident, message)

        self._slot = None
        self.incident = None
        self.metrics.open_incidents.set(0)
        self._write("the resolution", write)
        label = f"incident {slot.incident.id}" if slot.incident else "the incident"
        self.say(f"{label} resolved: {message}")

    def _responds(self) -> bool:
        diagnoses = self.diagnose_hook is not None or (
            self.settings.balancer is not None and self.diagnose_backends is not None
        )
        return diagnoses or self.rollback_hook is not None

    def _notify(self, event: str, incident: Incident, detail: str) -> None:
        if self._webhook is not None:
            site = self.settings.site or (self.settings.urls[0] if self.settings.urls else "")
            self._webhook.notify(incident_payload(event, incident, site, detail))

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _diagnosis(self, incident: Incident) -> Callable[[], Any] | None:
        """What diagnoses this incident: at a balancer, the failing backends' hosts (through
        `diagnose_backends`); else the site (the diagnose hook)."""
        balancer = self.settings.balancer
        if balancer is None:
            return self.diagnose_hook
        if self.diagnose_backends is None:
            return None
        # No backend singled out (every one failing, HAProxy answering 503): all of them.
        hosts = incident.data.get("failing_backends") or sorted(balancer.event_stores)
        diagnose_backends = self.diagnose_backends
        return lambda: asyncio.to_thread(diagnose_backends, list(hosts))

    async def _diagnose(self, incident: Incident, run: Callable[[], Any]) -> None:
        self.say(f"diagnosing incident {incident.id}...")
        started = now_utc()
        try:
            result = await asyncio.wait_for(run(), self.settings.diagnose_timeout)
        except TimeoutError:
            self._record_for(incident, "diagnosis.failed", "diagnosis did not finish in time")
            return
        except Exception as exc:  # a failed diagnosis must not stop the watch
            self._record_for(incident, "diagnosis.failed", f"diagnosis failed: {exc}")
            return
        if not isinstance(result, dict):
            self._record_for(incident, "diagnosis.failed", "no diagnosis of the backends was made")
            return
        try:
            self.store().add_diagnosis(result, incident_id=incident.id)
        except PremortemError as exc:
            self.say(f"could not record the diagnosis: {exc}")
        top, summary = _root_cause_of(result)
        seconds = (now_utc() - started).total_seconds()
        self._record_for(
            incident,
            "diagnosis",
            f"diagnosis: {summary}",
            root_cause=top,
            findings=len(result.get("findings") or result.get("hosts") or []),
            seconds=round(seconds, 3),
        )
        self.say(f"diagnosis of incident {incident.id} ({seconds:.1f} s): {summary}")
        if self._webhook is not None:
            site = self.settings.site or (self.settings.urls[0] if self.settings.urls else "")
            payload = incident_payload(
                "incident.diagnosed", incident, site, f"root cause: {summary}"
            )
            payload["root_cause"] = top
            self._webhook.notify(payload)

    def _record_for(self, incident: Incident, kind: str, message: str, **data: Any) -> None:
        at = now_utc()
        self._write(kind, lambda store: store.add_event(
            kind, message, data=data, at=at, incident_id=incident.id))  # fmt: skip
        if kind.endswith(".failed"):
            self.say(message)

    def last_deploy_before(self, moment: datetime) -> Event | None:
        since = moment - self.settings.rollback_within
        events = self.store().events(since=since, until=moment, kinds=DEPLOY_EVENT_KINDS)
        return events[-1] if events else None

    async def _respond(self, incident: Incident) -> None:
        """Diagnose first, then roll back if asked: a rollback erases the evidence the
        diagnosis needs, so it waits for the diagnosis (at most `diagnose_before_rollback`)."""
        self._responding = True
        try:
            await self._respond_steps(incident)
        except Exception as exc:
            self.say(f"responding to incident {incident.id} failed: {type(exc).__name__}: {exc}")
        finally:
            self._responding = False

    async def _respond_steps(self, incident: Incident) -> None:
        diagnosis = None
        run = self._diagnosis(incident)
        if run is not None:
            diagnosis = asyncio.create_task(self._diagnose(incident, run))
            await asyncio.wait({diagnosis}, timeout=self.settings.diagnose_before_rollback)
        if self.rollback_hook is not None:
            deploy = self._rollback_candidate(incident)
            if deploy is not None:
                await self._rollback(incident, deploy)
        if diagnosis is not None:
            await diagnosis

    def _rollback_candidate(self, incident: Incident) -> Event | None:
        """The deploy to roll back, or None (recorded why) when there is none."""
        reference = incident.first_error_at or incident.detected_at
        if self.settings.balancer is not None:
            deploy = self._last_fleet_deploy(self.settings.balancer, reference)
        else:
            deploy = self.last_deploy_before(reference + timedelta(seconds=1))
        if deploy is None:
            self._record_for(
                incident,
                "rollback.skipped",
                "no deploy in the "
                f"{self.settings.rollback_within.total_seconds() / 60:g} min before the first "
                "error: not rolling back",
            )
            return None
        # Never twice for one deploy: if it was rolled back already, an older release is
        # not known to be better.
        rolled = self.store().events(since=deploy.at, kinds=("rollback", "rollback.auto"))
        if rolled:
            self._record_for(
                incident,
                "rollback.skipped",
                f"the deploy of {deploy.at:%H:%M:%S} UTC was already rolled back: not again",
            )
            return None
        return deploy

    def _last_fleet_deploy(self, balancer: BalancerWatch, reference: datetime) -> Event | None:
        """The last fleet deploy before `reference`: the newest deploy any host recorded in
        its own store within rollback_within, as one Event whose data names every host that
        deployed in that time (`hosts`)."""
        until = reference + timedelta(seconds=1)
        since = reference - self.settings.rollback_within
        found: list[tuple[str, Event]] = []
        for host, state_dir in sorted(balancer.event_stores.items()):
            if not store_path(Path(state_dir)).exists():
                continue  # nothing recorded on that host: no deploy either
            try:
                with open_store(Path(state_dir), create=False) as store:
                    events = store.events(since=since, until=until, kinds=DEPLOY_EVENT_KINDS)
            except PremortemError as exc:
                self.say(f"cannot read {host}'s events: {exc}")
                continue
            if events:
                found.append((host, events[-1]))
        if not found:
            return None
        newest = max((event for _host, event in found), key=lambda event: event.at)
        data = {**newest.data, "hosts": [host for host, _event in found]}
        return Event(newest.id, newest.at, newest.kind, newest.message, data, None)

    async def _rollback(self, incident: Incident, deploy: Event) -> None:
        assert self.rollback_hook is not None
        hosts = deploy.data.get("hosts") or []
        request = RollbackRequest(
            incident_id=incident.id,
            deployed_at=deploy.at,
            release=_text_or_none(deploy.data.get("release")),
            previous=_text_or_none(deploy.data.get("previous")),
            hosts=tuple(str(h) for h in hosts),
        )
        self.say(
            f"rolling back the deploy of {deploy.at:%H:%M:%S} UTC"
            + (f" (to {request.previous})" if request.previous else "")
            + "..."
        )
        try:
            outcome = await asyncio.to_thread(self.rollback_hook, request)
        except Exception as exc:
            self._record_for(incident, "rollback.failed", f"automatic rollback failed: {exc}")
            return
        self._record_for(
            incident,
            "rollback.auto",
            f"rolled back automatically: {outcome}",
            deploy_at=deploy.at.isoformat(),
            release=request.release,
            previous=request.previous,
            hosts=list(request.hosts),
        )
        self.say(f"rolled back: {outcome}")


def _root_cause_of(result: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The top finding and its one-line summary: a site's diagnosis (`findings`), or a fleet
    diagnosis (`hosts`, each with `findings`; `summary`)."""
    findings = result.get("findings") or []
    if not findings and isinstance(result.get("hosts"), list):
        for host in result["hosts"]:
            if isinstance(host, dict) and host.get("status") == "failing":
                for finding in host.get("findings") or []:
                    if isinstance(finding, dict):
                        findings.append({**finding, "host": host.get("name")})
    top = findings[0] if findings and isinstance(findings[0], dict) else None
    if top is not None:
        where = f"{top['host']}: " if top.get("host") else ""
        return top, where + str(top.get("message", ""))
    return None, str(result.get("summary") or "no finding")


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
