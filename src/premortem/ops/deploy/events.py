"""Record deploy steps as timed events in the site's store (the postmortem's timeline)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from premortem.store import Store, open_store

Progress = Callable[[str], None]


class StepRecorder:
    """Times each step and writes one event per step; also reports progress on stderr."""

    def __init__(self, state_dir: Path, progress: Progress | None) -> None:
        self.store: Store = open_store(state_dir)
        self.progress = progress or (lambda _message: None)
        self.timings: dict[str, float] = {}

    def close(self) -> None:
        self.store.close()

    def event(self, kind: str, message: str, **data: Any) -> None:
        self.store.add_event(kind, message, data=data, at=datetime.now(UTC))

    @contextmanager
    def step(self, name: str, kind: str) -> Iterator[dict[str, Any]]:
        """`with rec.step("copy", "deploy.copy") as data: data["files"] = 3` records
        `deploy.copy` with the data and its duration once the block ends without error."""
        self.progress(f"{name}...")
        started = time.monotonic()
        begun = datetime.now(UTC)
        data: dict[str, Any] = {}
        yield data
        seconds = time.monotonic() - started
        self.timings[name] = seconds
        data["seconds"] = round(seconds, 3)
        data.setdefault("started", begun.isoformat())
        message = str(data.pop("message", f"{name} done in {seconds:.2f}s"))
        self.store.add_event(kind, message, data=data, at=datetime.now(UTC))


# Events that say a release went live: a deploy's switch, a rollback's switch, and the
# automatic rollback of a deploy (`rollback` with automatic=True: no rollback.switch).
LIVE_EVENT_KINDS = ("deploy.switch", "rollback.switch", "rollback")


def live_history(store: Store) -> list[str]:
    """Release names in the order they went live, oldest first (repeats collapsed)."""
    history: list[str] = []
    for event in store.events(kinds=LIVE_EVENT_KINDS):
        if event.kind == "rollback" and not event.data.get("automatic"):
            continue  # a manual rollback also recorded its rollback.switch
        release = event.data.get("release")
        if isinstance(release, str) and release and (not history or history[-1] != release):
            history.append(release)
    return history
