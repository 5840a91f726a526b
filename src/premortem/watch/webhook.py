"""Webhook notifications: a JSON POST per incident transition, never blocking the watch.

The body carries a `text` field (what Slack-compatible incoming webhooks, Mattermost and
Rocket.Chat display) and the structured incident, so a script can use it too::

    {"text": ":rotating_light: premortem: incident 3 opened on http://127.0.0.1:8080/ ...",
     "event": "incident.open", "site": "http://127.0.0.1:8080/", "incident": {...}}

Events: `incident.open`, `incident.diagnosed` (with `root_cause`, the top finding of the
diagnosis) and `incident.resolved`.

Each POST runs as its own task bounded by a total timeout: a receiver that accepts the
connection and never answers costs that task its timeout and nothing else. Failures are
reported to a callback (the watch records them as `webhook.failed` events), never raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from premortem.store import Incident
from premortem.watch.probes import USER_AGENT

DEFAULT_TIMEOUT = 5.0


def incident_payload(event: str, incident: Incident, site: str, detail: str = "") -> dict[str, Any]:
    icon, verb = {
        "incident.open": (":rotating_light:", "opened"),
        "incident.diagnosed": (":mag:", "diagnosed"),
    }.get(event, (":white_check_mark:", "resolved"))
    text = f"{icon} premortem: incident {incident.id} {verb} on {site}: {incident.title}"
    if detail:
        text += f"\n{detail}"
    return {"text": text, "event": event, "site": site, "incident": incident.to_dict()}


class WebhookNotifier:
    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        on_failure: Callable[[str, dict[str, Any]], None] | None = None,
        on_success: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._on_failure = on_failure
        self._on_success = on_success
        self._client = httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT}, trust_env=False, timeout=timeout
        )
        self._tasks: set[asyncio.Task[None]] = set()

    def notify(self, payload: dict[str, Any]) -> None:
        """Send in the background; returns at once."""
        task = asyncio.create_task(self._send(payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, payload: dict[str, Any]) -> None:
        try:
            # httpx's timeout bounds each phase; wait_for bounds the whole exchange, so a
            # receiver that trickles bytes cannot hold the task longer either.
            response = await asyncio.wait_for(
                self._client.post(self.url, json=payload), self.timeout
            )
        except TimeoutError:
            self._failed(f"no answer from {self.url} within {self.timeout:g} s", payload)
            return
        except httpx.HTTPError as exc:
            self._failed(f"{self.url}: {exc or type(exc).__name__}", payload)
            return
        if response.status_code >= 300:
            self._failed(f"{self.url} answered HTTP {response.status_code}", payload)
        elif self._on_success is not None:
            self._on_success(response.status_code, payload)

    def _failed(self, reason: str, payload: dict[str, Any]) -> None:
        if self._on_failure is not None:
            self._on_failure(reason, payload)

    async def drain(self, grace: float) -> None:
        """Give pending notifications up to `grace` seconds, then cancel them."""
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await self._client.aclose()
