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


def test_incident_lifecycle_records_events(tmp_path: Path) -> None:
    first = datetime(2026, 10, 29, 18, 45, tzinfo=UTC)
    detected = first + timedelta(seconds=3)
    with open_store(tmp_path) as store:
        incident = store.open_incident(
            title="5xx rate 40%", trigger="error-rate", detected_at=detected, first_error_at=first
        )
        assert incident.status == "open"
        assert [i.id for i in store.incidents(status="open")] == [incident.id]
        resolved = store.resolve_incident(
            incident.id, resolved_at=detected + timedelta(minutes=5), recovered_at=detected
        )
    with open_store(tmp_path) as store:
        again = store.incident(incident.id)
        assert again == resolved
        assert again.status == "resolved"
        assert again.first_error_at == first
        assert again.detected_at == detected
        assert store.incidents(status="open") == []
        kinds = [e.kind for e in store.events(incident_id=incident.id)]
        assert kinds == ["incident.open", "incident.resolved"]
        # Resolving twice changes nothing and records nothing.
        store.resolve_incident(incident.id, resolved_at=detected + timedelta(hours=1))
        assert store.incident(incident.id) == resolved
        assert len(store.events(incident_id=incident.id)) == 2


def test_diagnosis_findings_are_kept_ranked(tmp_path: Path) -> None:
    result = {
        "findings": [
            {
                "rule": "missing-file",
                "severity": "error",
                "message": "m1",
                "file": "wp-settings.php",
                "line": 156,
                "confidence": 0.95,
            },
            {"rule": "php-fatal", "severity": "error", "message": "m2"},
        ]
    }
    with open_store(tmp_path) as store:
        incident = store.open_incident(
            title="t", trigger="probe", detected_at=datetime.now(UTC), first_error_at=None
        )
        store.add_diagnosis({"findings": []}, incident_id=incident.id)
        store.add_diagnosis(result, incident_id=incident.id)
        assert [f["rule"] for f in store.findings(incident.id)] == ["missing-file", "php-fatal"]
        assert store.diagnoses(incident.id)[-1].findings[0]["line"] == 156
        store.add_measure(incident.id, "add premortem check to CI")
        assert [m.text for m in store.measures(incident.id)] == ["add premortem check to CI"]


def test_corrupted_database_is_a_clear_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "premortem.sqlite3"
    garbage = b"this is not SQLite at all\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(PremortemError, match=r"cannot be used.*left as it is"):
        open_store(tmp_path)
    assert path.read_bytes() == garbage


def test_damaged_pages_after_commit_are_reported_clearly(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        for n in range(300):
            store.add_event("note", f"entry {n} " + "x" * 200)
    path = tmp_path / "premortem.sqlite3"
    data = bytearray(path.read_bytes())
    # Overwrite the middle of the file (table pages), keep the header valid.
    data[8192:20480] = b"\xff" * (20480 - 8192)
    path.write_bytes(bytes(data))
    with pytest.raises(PremortemError, match="cannot be used"), open_store(tmp_path) as store:
        store.events()


def test_missing_store_is_an_error_only_when_reading(tmp_path: Path) -> None:
    with pytest.raises(PremortemError, match="no event store"):
        open_store(tmp_path / "state", create=False)
    assert not (tmp_path / "state").exists()
    open_store(tmp_path / "state").close()
    open_store(tmp_path / "state", create=False).close()


def test_replaced_file_is_noticed(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        assert not store.file_replaced()
        (tmp_path / "premortem.sqlite3").unlink()
        assert store.file_replaced()


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(6) as pool:
        results = pool.map(_open_and_write, [str(tmp_path)] * 6)
    assert results == ["ok"] * 6
    with open_store(tmp_path) as store:
        assert len(store.events(kinds=["note"])) == 6


def _open_and_write(state_dir: str) -> str:
    with open_store(Path(state_dir)) as store:
        store.add_event("note", "hello")
    return "ok"
