"""Prometheus metrics of the watch, served on 127.0.0.1:PORT/metrics with prometheus-client.

Every series carries `site` (the watched site's URL, as the incidents name it) and `host`
(this machine's name), so one Prometheus scraping the watches of several sites and hosts
tells them apart, and the shipped alerting rules (contrib/prometheus/) name them::

    premortem_probe_success{site,host,url}            1 if the last probe of the URL passed
    premortem_probe_duration_seconds{site,host,url}   duration of the last probe
    premortem_probes_total{site,host,url,result}      probes made, by result (ok|failed)
    premortem_requests_total{site,host}               access-log requests read
    premortem_requests_5xx_total{site,host}           of which answered 5xx
    premortem_window_requests{site,host}              requests in the sliding window
    premortem_window_requests_5xx{site,host}          5xx in the sliding window
    premortem_window_error_ratio{site,host}           5xx share in the sliding window (0..1)
    premortem_open_incidents{site,host}               incidents open (0 or 1 for one site)
    premortem_incidents_opened_total{site,host}       incidents opened by this watch

At a load balancer (balancer mode), per backend (the server that answered: a host's name):

    premortem_backend_requests_total{site,host,backend}      requests its log shows it answered
    premortem_backend_requests_5xx_total{site,host,backend}  of which 5xx
    premortem_backend_up{site,host,backend}                  1 if HAProxy's stats say UP
    premortem_backend_failing{site,host,backend}             1 while its 5xx cross the thresholds

A registry of its own keeps the metrics of one watch apart from anything else in the process.
"""

from __future__ import annotations

import socket
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from premortem.errors import PremortemError
from premortem.watch.probes import ProbeResult
from premortem.watch.window import WindowCounts

LABELS = ("site", "host")


class WatchMetrics:
    def __init__(self, site: str = "", host: str | None = None) -> None:
        self.registry = CollectorRegistry()
        self.site, self.host = site, host if host is not None else socket.gethostname()
        r, own = self.registry, (self.site, self.host)
        per_url = [*LABELS, "url"]
        self.probe_success = Gauge(
            "premortem_probe_success", "1 if the last probe passed", per_url, registry=r
        )
        self.probe_duration = Gauge(
            "premortem_probe_duration_seconds", "Duration of the last probe", per_url, registry=r
        )
        self.probes = Counter(
            "premortem_probes", "Probes made, by result", [*per_url, "result"], registry=r
        )
        self.requests = Counter(
            "premortem_requests", "Access-log requests read", LABELS, registry=r
        ).labels(*own)
        self.requests_5xx = Counter(
            "premortem_requests_5xx", "Access-log requests answered 5xx", LABELS, registry=r
        ).labels(*own)
        self.window_requests = Gauge(
            "premortem_window_requests", "Requests in the sliding window", LABELS, registry=r
        ).labels(*own)
        self.window_5xx = Gauge(
            "premortem_window_requests_5xx", "5xx answers in the sliding window", LABELS, registry=r
        ).labels(*own)
        self.window_ratio = Gauge(
            "premortem_window_error_ratio", "5xx share in the sliding window", LABELS, registry=r
        ).labels(*own)
        self.open_incidents = Gauge(
            "premortem_open_incidents", "Open incidents", LABELS, registry=r
        ).labels(*own)
        self.incidents_opened = Counter(
            "premortem_incidents_opened", "Incidents opened by this watch", LABELS, registry=r
        ).labels(*own)
        per_backend = [*LABELS, "backend"]
        self.backend_requests = Counter(
            "premortem_backend_requests", "Requests a backend answered (balancer's log)",
            per_backend, registry=r,
        )  # fmt: skip
        self.backend_5xx = Counter(
            "premortem_backend_requests_5xx", "Requests a backend answered 5xx (balancer's log)",
            per_backend, registry=r,
        )  # fmt: skip
        self.backend_up = Gauge(
            "premortem_backend_up", "1 if the balancer's stats say the backend is UP",
            per_backend, registry=r,
        )  # fmt: skip
        self.backend_failing = Gauge(
            "premortem_backend_failing", "1 while the backend's 5xx cross the thresholds",
            per_backend, registry=r,
        )  # fmt: skip
        self._failing: set[str] = set()
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
        own = (self.site, self.host, result.url)
        self.probe_success.labels(*own).set(1 if result.ok else 0)
        self.probe_duration.labels(*own).set(result.duration)
        self.probes.labels(*own, "ok" if result.ok else "failed").inc()

    def record_request(self, status: int, backend: str | None = None) -> None:
        self.requests.inc()
        if status >= 500:
            self.requests_5xx.inc()
        if backend is not None:
            self.backend_requests.labels(self.site, self.host, backend).inc()
            if status >= 500:
                self.backend_5xx.labels(self.site, self.host, backend).inc()

    def record_backend_state(self, backend: str, up: bool) -> None:
        self.backend_up.labels(self.site, self.host, backend).set(1 if up else 0)
        self.backend_failing.labels(self.site, self.host, backend).set(
            1 if backend in self._failing else 0
        )

    def record_failing_backends(self, names: list[str]) -> None:
        for name in set(names) | self._failing:
            self.backend_failing.labels(self.site, self.host, name).set(1 if name in names else 0)
        self._failing = set(names)

    def record_window(self, counts: WindowCounts) -> None:
        self.window_requests.set(counts.total)
        self.window_5xx.set(counts.failed)
        self.window_ratio.set(counts.rate)
