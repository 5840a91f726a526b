"""The store's disk fills up during an outage (a full disk is a common cause of one): the
watch keeps what it could not record, in order and with its own times, and records it when
space is back; no incident, resolution or event lost. The disk is a real 1 MB tmpfs filled
to the last byte (as root); the soak (test_watch_soak.py) does the same to the real process."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from premortem.store import open_store
from premortem.watch.watcher import Watcher
from test_watch_loop import FAILED_LINES, OK_LINES, append, settings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "premortem-test", str(disk)],
                   check=True)  # fmt: skip
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    for size in (65536, 512, 1):
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * size):
                pass
    os.close(fd)
    return filler


def test_incident_opened_and_resolved_on_a_full_disk_is_recorded_later(
    tmp_path: Path, small_disk: Path
) -> None:
    log = tmp_path / "access.log"
    append(log, OK_LINES[:5])
    said: list[str] = []
    watcher = Watcher(settings(tmp_path, state_dir=small_disk / "state"), say=said.append)
    watcher.record("watch.start", "started")  # the store exists before the disk fills
    watcher.follow_log()
    filler = fill(small_disk)
    opened_at = datetime.now(UTC)
    append(log, FAILED_LINES[:30])
    watcher.tick(opened_at)
    assert watcher.detector.in_incident
    assert any("could not record the incident" in s for s in said)
    append(log, OK_LINES[5:40])
    watcher.tick(opened_at + timedelta(seconds=3))
    assert not watcher.detector.in_incident
    watcher.record("note", "still full")
    filler_removed = datetime.now(UTC)
    filler.unlink()
    watcher.tick(opened_at + timedelta(seconds=4))  # space is back: what was kept is written
    assert any("recorded 3 kept write(s)" in s for s in said)
    watcher.close()
    with open_store(small_disk / "state", create=False) as store:
        incidents = store.incidents()
        events = store.events()
    assert [(i.id, i.status) for i in incidents] == [(1, "resolved")]
    assert incidents[0].detected_at == opened_at
    # In the order they were written (the resolution carries the test's future clock).
    kinds = [(e.kind, e.incident_id) for e in sorted(events, key=lambda e: e.id)]
    assert kinds == [
        ("watch.start", None),
        ("incident.open", 1),
        ("incident.resolved", 1),
        ("note", None),
    ]
    by_kind = {e.kind: e.at for e in events}
    assert by_kind["incident.open"] == opened_at, "each event keeps the time it happened"
    assert by_kind["incident.resolved"] == opened_at + timedelta(seconds=3)
    assert by_kind["note"] < filler_removed
