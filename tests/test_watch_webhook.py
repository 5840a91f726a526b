"""Webhook notifications: delivered with a Slack-compatible text; a hanging receiver costs
only its timeout and never blocks the watch."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from premortem.store import Incident
from premortem.watch.webhook import WebhookNotifier, incident_payload
from test_watch_support import free_port, hanging_receiver, webhook_receiver

INCIDENT = Incident(
    id=7,
    status="open",
    title="100% of requests answered 5xx",
    trigger="error-rate",
    first_error_at=datetime(2026, 10, 29, 17, 45, tzinfo=UTC),
    detected_at=datetime(2026, 10, 29, 17, 45, 2, tzinfo=UTC),
    recovered_at=None,
    resolved_at=None,
    data={},
)


def test_payload_has_text_and_the_incident() -> None:
    payload = incident_payload("incident.open", INCIDENT, "http://127.0.0.1:8080/")
    assert payload["text"].startswith(":rotating_light: premortem: incident 7 opened")
    assert payload["incident"]["first_error_at"] == "2026-10-29T17:45:00.000000+00:00"
    assert payload["event"] == "incident.open"


def test_delivered_to_a_receiver() -> None:
    async def scenario(url: str) -> list[int]:
        statuses: list[int] = []
        notifier = WebhookNotifier(url, on_success=lambda status, _p: statuses.append(status))
        notifier.notify(incident_payload("incident.open", INCIDENT, "site"))
        await notifier.drain(grace=5)
        return statuses

    with webhook_receiver() as (url, receiver):
        assert asyncio.run(scenario(url)) == [200]
        assert receiver.payloads[0]["incident"]["id"] == 7
        assert "text" in receiver.payloads[0]


def test_hanging_receiver_times_out_without_blocking() -> None:
    async def scenario(url: str) -> tuple[list[str], int, float]:
        failures: list[str] = []
        notifier = WebhookNotifier(
            url, timeout=0.5, on_failure=lambda reason, _p: failures.append(reason)
        )
        started = time.monotonic()
        notifier.notify(incident_payload("incident.open", INCIDENT, "site"))
        ticks = 0
        # The loop keeps running while the POST hangs.
        while not failures and time.monotonic() - started < 5:
            await asyncio.sleep(0.05)
            ticks += 1
        elapsed = time.monotonic() - started
        await notifier.drain(grace=0.1)
        return failures, ticks, elapsed

    with hanging_receiver() as (url, accepted):
        failures, ticks, elapsed = asyncio.run(scenario(url))
        assert accepted, "the receiver never saw the connection"
    assert failures and "no answer" in failures[0]
    assert 0.4 < elapsed < 2.0
    assert ticks >= 5


def test_refused_connection_is_a_failure_not_an_exception() -> None:
    async def scenario(url: str) -> list[str]:
        failures: list[str] = []
        notifier = WebhookNotifier(url, on_failure=lambda r, _p: failures.append(r))
        notifier.notify(incident_payload("incident.resolved", INCIDENT, "site"))
        await notifier.drain(grace=5)
        return failures

    failures: list[Any] = asyncio.run(scenario(f"http://127.0.0.1:{free_port()}/"))
    assert len(failures) == 1
