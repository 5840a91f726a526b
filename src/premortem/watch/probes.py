"""Synthetic probes: GET each URL with a timeout and say whether the site answered properly.

An `https://` URL is probed on the local server with the site's name (collectors/target.py).
A probe fails when the request cannot be made (DNS, refused connection, timeout, TLS) or the
answer is a server error (HTTP >= 500). 4xx answers are the site working as designed (a
missing page, a login wall), so they count as success. Redirects are not followed: a
redirect is an answer, and following one could leave 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from premortem import __version__
from premortem.collectors.target import AsyncRoutingTransport, Target

USER_AGENT = f"premortem-watch/{__version__}"


@dataclass(frozen=True)
class ProbeResult:
    url: str
    at: datetime
    ok: bool
    status: int | None
    duration: float
    error: str | None = None

    def describe(self) -> str:
        if self.error:
            return f"{self.url}: {self.error}"
        return f"{self.url}: HTTP {self.status} in {self.duration * 1000:.0f} ms"


async def probe(client: httpx.AsyncClient, url: str, timeout: float) -> ProbeResult:
    """One probe; never raises for network trouble, the result says what went wrong."""
    at = datetime.now(UTC)
    started = time.monotonic()
    try:
        # httpx's timeout bounds each phase (connect, each read); wait_for bounds the whole
        # probe, so a server trickling bytes cannot stall the probe loop.
        response = await asyncio.wait_for(
            client.get(url, timeout=timeout, follow_redirects=False), timeout + 1
        )
    except (httpx.TimeoutException, TimeoutError):
        return ProbeResult(url, at, False, None, time.monotonic() - started, f"timeout {timeout}s")
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return ProbeResult(url, at, False, None, time.monotonic() - started, reason)
    duration = time.monotonic() - started
    return ProbeResult(url, at, response.status_code < 500, response.status_code, duration)


async def probe_all(
    client: httpx.AsyncClient, urls: list[str], timeout: float
) -> list[ProbeResult]:
    """Probe every URL concurrently; results in the order of `urls`."""
    return list(await asyncio.gather(*(probe(client, url, timeout) for url in urls)))


def new_client(ca_file: str = "") -> httpx.AsyncClient:
    """A probe client: an https URL goes to the local server under the site's name, its
    certificate checked against that name (trusting `ca_file` too)."""
    # No keep-alive reuse across probes: each probe should see what a new visitor sees, and a
    # worker that died with a pooled connection must not hide behind a stale socket error.
    limits = httpx.Limits(max_keepalive_connections=0)
    transport = AsyncRoutingTransport(Target(ca_file=ca_file), limits)
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT}, transport=transport, trust_env=False
    )
