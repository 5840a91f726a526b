"""The watch loop without the lab: log rotation during watch, a webhook that hangs, restart
with an open incident, the store deleted under a running watch, refused connections and
Prometheus metrics. The site here is an access log written by the test; the real Apache
runs in test_watch_lab.py."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from premortem.store import open_store
from premortem.watch.detector import Thresholds
from premortem.watch.watcher import Watcher, WatchSettings
from test_watch_support import free_port, hanging_receiver, webhook_receiver

FIXTURE = Path(__file__).parent / "fixtures" / "report" / "access-seed.log"
LINES = FIXTURE.read_text().splitlines(keepends=True)
OK_LINES = [line for line in LINES if '" 200 ' in line]
FAILED_LINES = [line for line in LINES if '" 500 ' in line]
FAST = Thresholds(window=timedelta(seconds=10), healthy_for=timedelta(seconds=1))


def append(path: Path, lines: list[str]) -> None:
    with open(path, "a") as handle:
        handle.writelines(lines)


def settings(tmp_path: Path, **overrides: object) -> WatchSettings:
    values: dict[str, object] = {
        "urls": [],
        "state_dir": tmp_path / "state",
        "access_log": tmp_path / "access.log",
        "thresholds": FAST,
        "tick": 0.05,
        "interval": 0.3,
        "probe_timeout": 1.0,
    }
    values.update(overrides)
    return WatchSettings(**values)  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def test_rotation_during_watch_keeps_counting(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    append(log, OK_LINES[:10])
    watcher = Watcher(settings(tmp_path))
    watcher.follow_log()
    now = datetime.now(UTC)
    append(log, OK_LINES[10:40])
    watcher.tick(now)
    assert watcher.incident is None
    # logrotate renames; Apache keeps writing to the old file until its graceful restart.
    os.rename(log, tmp_path / "access.log.1")
    append(tmp_path / "access.log.1", FAILED_LINES[:1])
    append(log, FAILED_LINES[1:3])
    watcher.tick(now + timedelta(seconds=1))
    assert watcher.incident is not None
    assert watcher.detector.counts(now + timedelta(seconds=1)).failed == 3
    # The first error is the log time of the first 500 (written to the rotated file).
    assert watcher.incident.first_error_at == datetime(2026, 11, 26, 0, 56, 23, tzinfo=UTC)
    watcher.close()


def test_hanging_webhook_does_not_stop_detection_or_shutdown(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("")

    async def scenario(url: str) -> tuple[float, float]:
        watcher = Watcher(settings(tmp_path, webhook=url, webhook_timeout=0.5))
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.2)
        append(log, OK_LINES[:20] + FAILED_LINES[:10])
        await until(lambda: watcher.incident is not None)
        append(log, OK_LINES[20:60])  # recovery, while the webhook still hangs
        resolve_seconds = await until(lambda: watcher.incident is None)
        stop.set()
        started = time.monotonic()
        await asyncio.wait_for(task, 5)
        return resolve_seconds, time.monotonic() - started

    with hanging_receiver() as (url, accepted):
        resolve_seconds, stop_seconds = asyncio.run(scenario(url))
        assert accepted
    assert resolve_seconds < 5
    assert stop_seconds < 2.5
    with open_store(tmp_path / "state") as store:
        kinds = [e.kind for e in store.events()]
        assert kinds.count("incident.open") == 1
        assert "incident.resolved" in kinds
        assert "webhook.failed" in kinds
        assert kinds[-1] == "watch.stop"


def test_webhook_is_told_about_open_and_resolve(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("")

    async def scenario(url: str) -> None:
        watcher = Watcher(settings(tmp_path, webhook=url))
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.2)
        append(log, FAILED_LINES[:25])
        await until(lambda: watcher.incident is not None)
        append(log, OK_LINES[:40])
        await until(lambda: watcher.incident is None)
        await asyncio.sleep(0.3)
        stop.set()
        await task

    with webhook_receiver() as (url, receiver):
        asyncio.run(scenario(url))
        events = [p["event"] for p in receiver.payloads]
    assert events == ["incident.open", "incident.resolved"]
    assert receiver.payloads[0]["text"].startswith(":rotating_light:")


def test_restart_with_an_open_incident_adopts_it(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("")

    async def first_run() -> int:
        watcher = Watcher(settings(tmp_path))
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.2)
        append(log, FAILED_LINES[:25])
        await until(lambda: watcher.incident is not None)
        assert watcher.incident is not None
        incident_id = watcher.incident.id
        stop.set()  # stopped (deploy of a new watch version, crash...) while still open
        await task
        return incident_id

    messages: list[str] = []

    async def second_run() -> None:
        watcher = Watcher(settings(tmp_path), say=messages.append)
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await until(lambda: watcher.incident is not None)
        append(log, OK_LINES[:30])
        await until(lambda: watcher.incident is None)
        stop.set()
        await task

    incident_id = asyncio.run(first_run())
    with open_store(tmp_path / "state") as store:
        assert store.incident(incident_id).status == "open"  # type: ignore[union-attr]
    asyncio.run(second_run())
    assert any(f"incident {incident_id} is still open" in m for m in messages)
    with open_store(tmp_path / "state") as store:
        incidents = store.incidents()
        assert [(i.id, i.status) for i in incidents] == [(incident_id, "resolved")]


def test_store_deleted_under_a_running_watch_is_recreated(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("")
    watcher = Watcher(settings(tmp_path))
    watcher.follow_log()
    now = datetime.now(UTC)
    append(log, FAILED_LINES[:25])
    watcher.tick(now)
    assert watcher.incident is not None
    for suffix in ("", "-wal", "-shm"):
        path = tmp_path / "state" / f"premortem.sqlite3{suffix}"
        if path.exists():
            path.unlink()
    watcher.record("note", "after the store was deleted")
    with open_store(tmp_path / "state") as store:
        incidents = store.incidents(status="open")
        assert len(incidents) == 1
        assert incidents[0].first_error_at == watcher.incident.first_error_at
        assert [e.kind for e in store.events(incident_id=incidents[0].id)] == [
            "incident.open",
            "note",
        ]
    watcher.close()


def test_refused_connections_open_an_incident_and_metrics_show_it(tmp_path: Path) -> None:
    port = free_port()
    metrics_port = free_port()

    async def scenario() -> str:
        watcher = Watcher(
            settings(
                tmp_path,
                urls=[f"http://127.0.0.1:{port}/"],
                access_log=tmp_path / "missing" / "access.log",
                metrics_port=metrics_port,
            )
        )
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await until(lambda: watcher.incident is not None)
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(f"http://127.0.0.1:{metrics_port}/metrics")
        stop.set()
        await task
        return response.text

    text = asyncio.run(scenario())
    # Every series names the site and the host it is about (Prometheus scrapes many).
    own = f'host="{socket.gethostname()}",site="http://127.0.0.1:{port}/"'
    assert f"premortem_open_incidents{{{own}}} 1.0" in text
    assert f'premortem_probe_success{{{own},url="http://127.0.0.1:{port}/"}} 0.0' in text
    with open_store(tmp_path / "state") as store:
        (incident,) = store.incidents()
        assert incident.trigger == "probe"
        assert store.events(kinds=["probe.failed"])


def test_store_corrupted_under_a_running_watch_is_reported_and_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text("")
    messages: list[str] = []
    garbage = b"\x00definitely not SQLite\x00" * 64

    async def scenario() -> None:
        watcher = Watcher(settings(tmp_path), say=messages.append)
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.3)
        db = tmp_path / "state" / "premortem.sqlite3"
        replacement = db.with_name("replacement")
        replacement.write_bytes(garbage)
        # Someone "restored" the wrong file (and removed the old write-ahead log with it).
        for suffix in ("-wal", "-shm"):
            db.with_name(db.name + suffix).unlink(missing_ok=True)
        os.replace(replacement, db)
        append(log, FAILED_LINES[:25])
        await until(lambda: watcher.detector.in_incident)
        await asyncio.sleep(0.3)
        assert not task.done()  # still watching
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert any("could not record the incident" in m and "cannot be used" in m for m in messages)
    assert (tmp_path / "state" / "premortem.sqlite3").read_bytes() == garbage
