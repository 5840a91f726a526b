"""Alertmanager as a source of incidents: `premortem watch --alertmanager-webhook PORT`.

Users already have alerting rules in Prometheus. Alertmanager's webhook receiver
(`webhook_configs`, payload version 4) POSTs their alerts here; a firing alert about this
site opens an incident (trigger `alertmanager`) and starts the diagnosis like watch's own
detection does; the incident resolves once no such alert fires and watch's own signals are
healthy. An alert whose `site` label names another site is ignored; one without a `site`
label is taken as this site's (the route chose to send it here).

The receiver listens on 127.0.0.1 only; a payload that is not Alertmanager's version 4 is
answered 400 with the reason and changes nothing. contrib/alertmanager/alertmanager.yml
shows the route.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from premortem.errors import InputError, PremortemError

MAX_PAYLOAD_BYTES = 1 << 20


@dataclass(frozen=True)
class ExternalAlert:
    """One alert of a payload: its identity, whether it fires, and what it says."""

    fingerprint: str
    firing: bool
    name: str
    summary: str
    starts_at: datetime
    labels: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"alert {self.name}" + (f": {self.summary}" if self.summary else "")


def parse_payload(body: bytes) -> list[ExternalAlert]:
    """Alertmanager's webhook JSON (version 4) -> its alerts; InputError says what is wrong."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or str(data.get("version")) != "4":
        raise InputError("not an Alertmanager webhook payload (version 4)")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise InputError("the payload has no list of alerts")
    return [_alert(item, index) for index, item in enumerate(alerts)]


def _alert(item: Any, index: int) -> ExternalAlert:
    if not isinstance(item, dict):
        raise InputError(f"alert {index} is not an object")
    labels = _strings(item.get("labels"))
    annotations = _strings(item.get("annotations"))
    status = item.get("status")
    if status not in ("firing", "resolved"):
        raise InputError(f"alert {index}: status {status!r} is neither firing nor resolved")
    fingerprint = str(item.get("fingerprint") or sorted(labels.items()))
    return ExternalAlert(
        fingerprint=fingerprint,
        firing=status == "firing",
        name=labels.get("alertname", "alert"),
        summary=annotations.get("summary") or annotations.get("description", ""),
        starts_at=_time(item.get("startsAt")),
        labels=labels,
    )


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _time(value: Any) -> datetime:
    """RFC 3339 as Alertmanager writes it (nanoseconds too); now when absent or unreadable."""
    text = str(value or "")
    if "." in text:  # Python reads at most microseconds
        head, _dot, tail = text.partition(".")
        digits = "".join(c for c in tail if c.isdigit())
        text = f"{head}.{digits[:6]}{tail[len(digits) :]}"
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AlertReceiver:
    """The HTTP receiver on 127.0.0.1:PORT: alerts about `site` are queued for the watch."""

    def __init__(self, port: int, site: str) -> None:
        self.port, self.site = port, site
        self.alerts: queue.SimpleQueue[ExternalAlert] = queue.SimpleQueue()
        self._server: ThreadingHTTPServer | None = None

    def about_this_site(self, alert: ExternalAlert) -> bool:
        named = alert.labels.get("site") or alert.labels.get("url")
        return not named or not self.site or named.rstrip("/") == self.site.rstrip("/")

    def serve(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_PAYLOAD_BYTES:
                    self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "payload too large")
                    return
                try:
                    alerts = parse_payload(self.rfile.read(length))
                except InputError as exc:
                    self._answer(HTTPStatus.BAD_REQUEST, str(exc))
                    return
                taken = [a for a in alerts if receiver.about_this_site(a)]
                for alert in taken:
                    receiver.alerts.put(alert)
                self._answer(HTTPStatus.OK, f"{len(taken)} of {len(alerts)} alerts taken")

            def _answer(self, status: HTTPStatus, text: str) -> None:
                body = (text + "\n").encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass  # the watch records what matters in its store

        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        except OSError as exc:
            raise PremortemError(
                f"cannot receive Alertmanager webhooks on 127.0.0.1:{self.port}: "
                f"{exc.strerror or exc}"
            ) from None
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def received(self) -> list[ExternalAlert]:
        """The alerts received since the last call."""
        found: list[ExternalAlert] = []
        while True:
            try:
                found.append(self.alerts.get_nowait())
            except queue.Empty:
                return found

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
