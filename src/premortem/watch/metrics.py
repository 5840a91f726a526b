"""Prometheus metrics of the watch, served on 127.0.0.1:PORT/metrics with prometheus-client.

    premortem_probe_success{url}            1 if the last probe of the URL passed, else 0
    premortem_probe_duration_seconds{url}   duration of the last probe
    premortem_probes_total{url,result}      probes made, by result (ok|failed)
    premortem_requests_total                access-log requests read
    premortem_requests_5xx_total            of which answered 5xx
    premortem_window_requests               requests in the sliding window
    premortem_window_requests_5xx           5xx in the sliding window
    premortem_window_error_ratio            5xx share in the sliding window (0..1)
    premortem_open_incidents                incidents open (0 or 1 for one site)
    premortem_incidents_opened_total        incidents opened by this watch

A registry of its own keeps the metrics of one watch apart from anything else in the process.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from premortem.errors import PremortemError
from premortem.watch.probes import ProbeResult
from premortem.watch.window import WindowCounts


class WatchMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.probe_success = Gauge(
            "premortem_probe_success", "1 if the last probe passed", ["url"], registry=r
        )
        self.probe_duration = Gauge(
            "premortem_probe_duration_seconds", "Duration of the last probe", ["url"], registry=r
        )
        self.probes = Counter(
            "premortem_probes", "Probes made, by result", ["url", "result"], registry=r
        )
        self.requests = Counter("premortem_requests", "Access-log requests read", registry=r)
        self.requests_5xx = Counter(
            "premortem_requests_5xx", "Access-log requests answered 5xx", registry=r
        )
        self.window_requests = Gauge(
            "premortem_window_requests", "Requests in the sliding window", registry=r
        )
        self.window_5xx = Gauge(
            "premortem_window_requests_5xx", "5xx answers in the sliding window", registry=r
        )
        self.window_ratio = Gauge(
            "premortem_window_error_ratio", "5xx share in the sliding window", registry=r
        )
        self.open_incidents = Gauge("premortem_open_incidents", "Open incidents", registry=r)
        self.incidents_opened = Counter(
            "premortem_incidents_opened", "Incidents opened by this watch", registry=r
        )
        self._server: Any = None

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        try:
            server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise PremortemError(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def record_probe(self, result: ProbeResult) -> None:
        self.probe_success.labels(result.url).set(1 if result.ok else 0)
        self.probe_duration.labels(result.url).set(result.duration)
        self.probes.labels(result.url, "ok" if result.ok else "failed").inc()

    def record_request(self, status: int) -> None:
        self.requests.inc()
        if status >= 500:
            self.requests_5xx.inc()

    def record_window(self, counts: WindowCounts) -> None:
        self.window_requests.set(counts.total)
        self.window_5xx.set(counts.failed)
        self.window_ratio.set(counts.rate)
