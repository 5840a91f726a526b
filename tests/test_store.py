from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.store import MIGRATIONS, open_store


def test_events_round_trip_in_time_order(tmp_path: Path) -> None:
    t0 = datetime(2026, 10, 29, 17, 30, tzinfo=UTC)
    with open_store(tmp_path) as store:
        store.add_event("deploy.switch", "switched", at=t0 + timedelta(minutes=5))
        store.add_event("deploy.start", "deploying r2", data={"release": "r2"}, at=t0)
    with open_store(tmp_path) as store:
        events = store.events()
        assert [e.kind for e in events] == ["deploy.start", "deploy.switch"]
        assert events[0].data == {"release": "r2"}
        assert events[0].at == t0
        assert [e.kind for e in store.events(since=t0 + timedelta(minutes=1))] == ["deploy.switch"]
        assert store.events(kinds=["nope"]) == []


def test_store_uses_wal_and_records_schema_version(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    connection = sqlite3.connect(tmp_path / "premortem.sqlite3")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_newer_schema_is_refused_clearly(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    connection = sqlite3.connect(tmp_path / "premortem.sqlite3")
    connection.execute("PRAGMA user_version = 999")
    connection.close()
    with pytest.raises(PremortemError, match="newer premortem"):
        open_store(tmp_path)


def test_naive_times_are_refused(tmp_path: Path) -> None:
    with open_store(tmp_path) as store, pytest.raises(ValueError):
        store.add_event("note", "x", at=datetime(2026, 1, 1))
