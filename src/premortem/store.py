"""The site's event store: SQLite (stdlib) in the site's state dir, WAL, versioned schema.

Every command that changes or observes a site records what happened as an event (deploy
steps, rollbacks, fixes, probe failures, detection, diagnosis, resolution, notes); `report`
turns them into the postmortem's timeline. Times are stored as UTC ISO-8601 strings.

Schema migrations are a list of SQL scripts; `PRAGMA user_version` says how many ran.
Add a migration by appending to MIGRATIONS, never by editing an old one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError

DB_NAME = "premortem.sqlite3"

MIGRATIONS: list[str] = [
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}',
        incident_id INTEGER
    );
    CREATE INDEX events_at ON events(at);
    """,
]


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: store only timezone-aware times")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    kind: str
    message: str
    data: dict[str, Any]
    incident_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": to_iso(self.at),
            "kind": self.kind,
            "message": self.message,
            "data": self.data,
            "incident_id": self.incident_id,
        }


class Store:
    """A connection to one site's store. Use `open_store(state_dir)`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_event(
        self,
        kind: str,
        message: str,
        *,
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
        incident_id: int | None = None,
    ) -> int:
        with self.connection:
            cursor = self.connection.execute(
                "INSERT INTO events (at, kind, message, data, incident_id) VALUES (?, ?, ?, ?, ?)",
                (
                    to_iso(at or utcnow()),
                    kind,
                    message,
                    json.dumps(data or {}, sort_keys=True),
                    incident_id,
                ),
            )
        return int(cursor.lastrowid or 0)

    def events(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Iterable[str] | None = None,
        incident_id: int | None = None,
    ) -> list[Event]:
        clauses: list[str] = []
        params: list[Any] = []
        if since is not None:
            clauses.append("at >= ?")
            params.append(to_iso(since))
        if until is not None:
            clauses.append("at <= ?")
            params.append(to_iso(until))
        if kinds is not None:
            kind_list = list(kinds)
            clauses.append(f"kind IN ({','.join('?' * len(kind_list))})")
            params.extend(kind_list)
        if incident_id is not None:
            clauses.append("incident_id = ?")
            params.append(incident_id)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.connection.execute(
            f"SELECT id, at, kind, message, data, incident_id FROM events {where} ORDER BY at, id",
            params,
        ).fetchall()
        return [
            Event(
                id=row[0],
                at=datetime.fromisoformat(row[1]),
                kind=row[2],
                message=row[3],
                data=json.loads(row[4]),
                incident_id=row[5],
            )
            for row in rows
        ]


def _migrate(connection: sqlite3.Connection) -> None:
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise PremortemError(
            f"the store was written by a newer premortem (schema {version}); upgrade premortem"
        )
    for number in range(version, len(MIGRATIONS)):
        with connection:
            connection.executescript(MIGRATIONS[number])
            connection.execute(f"PRAGMA user_version = {number + 1}")


def open_store(state_dir: Path) -> Store:
    """Open (creating if needed) the store in `state_dir`, migrated to the current schema."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / DB_NAME
        connection = sqlite3.connect(path, timeout=10, isolation_level=None)
    except (OSError, sqlite3.Error) as exc:
        raise PremortemError(f"cannot open the event store in {state_dir}: {exc}") from None
    # WAL lets watch write while deploy/report read; busy_timeout covers short write races.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA busy_timeout=10000")
    connection.isolation_level = "DEFERRED"
    _migrate(connection)
    return Store(connection, path)
