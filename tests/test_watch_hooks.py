"""What runs when an incident opens: the diagnosis in its own process (result stored, a
hanging or failing one killed/reported without harm) and the auto-rollback decision."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from premortem.cli.watch import _diagnosis_hook
from premortem.store import open_store
from premortem.watch.hooks import DiagnosisFailed, diagnose_command, subprocess_diagnosis
from premortem.watch.watcher import RollbackRequest, Watcher, WatchSettings
from test_watch_loop import FAILED_LINES, FAST, append

DIAGNOSIS = json.loads(
    (Path(__file__).parent / "fixtures" / "report" / "diagnosis-seed.json").read_text()
)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_diagnose_command_passes_the_config() -> None:
    command = diagnose_command("http://127.0.0.1:8080/", Path("/srv/site/premortem.toml"))
    assert command[1:] == [
        "-m", "premortem", "diagnose", "http://127.0.0.1:8080/", "--format", "json",
        "--config", "/srv/site/premortem.toml",
    ]  # fmt: skip


def test_the_diagnosis_uses_the_config_file_the_watch_read_and_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`watch URL` with no premortem.toml discovered the site: its diagnosis must not be
    given a ./premortem.toml that does not exist (every diagnosis failed, exit 2)."""
    commands: list[list[str]] = []
    monkeypatch.setattr("premortem.cli.watch.subprocess_diagnosis", lambda c, t: commands.append(c))
    monkeypatch.chdir(tmp_path)
    url = "http://127.0.0.1:8080/"

    def diagnosed_with(config_path: Path | None = None) -> list[str]:
        settings = WatchSettings(urls=[url], state_dir=tmp_path / "state", site=url)
        _diagnosis_hook(settings, config_path)
        return commands.pop()[3:]

    assert diagnosed_with() == ["diagnose", url, "--format", "json"]
    (tmp_path / "premortem.toml").write_text(
        f'url = "{url}"\nsite_root = "{tmp_path}"\ndocroot = "{tmp_path}"\n'
    )
    assert diagnosed_with()[-2:] == ["--config", "premortem.toml"]
    assert diagnosed_with(Path("/srv/site.toml"))[-2:] == ["--config", "/srv/site.toml"]
    (tmp_path / "premortem.toml").write_text(
        f'url = "http://blog.example/"\nsite_root = "{tmp_path}"\ndocroot = "{tmp_path}"\n'
    )
    assert "--config" not in diagnosed_with()  # ./premortem.toml is another site's


def test_subprocess_diagnosis_returns_its_json() -> None:
    hook = subprocess_diagnosis(python(f"print({json.dumps(json.dumps(DIAGNOSIS))}); exit(1)"), 10)
    result = asyncio.run(hook())
    assert result["findings"][0]["line"] == 156


def test_failing_diagnosis_is_reported() -> None:
    hook = subprocess_diagnosis(python("import sys; sys.stderr.write('no server\\n'); exit(2)"), 10)
    with pytest.raises(DiagnosisFailed, match="exited 2: no server"):
        asyncio.run(hook())
    garbage = subprocess_diagnosis(python("print('not json')"), 10)
    with pytest.raises(DiagnosisFailed, match="no JSON"):
        asyncio.run(garbage())


def test_hanging_diagnosis_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time, pathlib;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(child.pid));"
        "time.sleep(60)"
    )
    hook = subprocess_diagnosis(python(code), 1.0)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(hook())
    assert time.monotonic() - started < 6
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the diagnosis' child survived"
        time.sleep(0.1)


def watcher_for(tmp_path: Path, **hooks: object) -> Watcher:
    log = tmp_path / "access.log"
    log.write_text("")
    settings = WatchSettings(
        urls=[], state_dir=tmp_path / "state", access_log=log, thresholds=FAST, tick=0.05
    )
    return Watcher(settings, **hooks)  # type: ignore[arg-type]


def run_until_open(watcher: Watcher, tmp_path: Path, then: float = 1.0) -> None:
    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.2)
        append(tmp_path / "access.log", FAILED_LINES[:25])
        while watcher.incident is None:
            await asyncio.sleep(0.05)
        await asyncio.sleep(then)
        stop.set()
        await task

    asyncio.run(scenario())


def test_diagnosis_is_stored_with_the_incident(tmp_path: Path) -> None:
    async def diagnose() -> dict[str, object]:
        return DIAGNOSIS

    watcher = watcher_for(tmp_path, diagnose=diagnose)
    run_until_open(watcher, tmp_path)
    with open_store(tmp_path / "state") as store:
        (incident,) = store.incidents()
        assert store.findings(incident.id)[0]["file"] == "wp-settings.php"
        (event,) = store.events(kinds=["diagnosis"])
        assert "class-wp-locale.phpp" in event.message
        assert event.incident_id == incident.id


def test_diagnosis_failure_is_recorded_and_watch_goes_on(tmp_path: Path) -> None:
    async def diagnose() -> dict[str, object]:
        raise DiagnosisFailed("diagnose exited 2: cannot reach the server")

    watcher = watcher_for(tmp_path, diagnose=diagnose)
    run_until_open(watcher, tmp_path)
    with open_store(tmp_path / "state") as store:
        (event,) = store.events(kinds=["diagnosis.failed"])
        assert "cannot reach the server" in event.message
        assert store.events(kinds=["watch.stop"])


@pytest.mark.parametrize(("deploy_age", "rolled_back"), [(120, True), (3600, False), (None, False)])
def test_auto_rollback_only_after_a_recent_deploy(
    tmp_path: Path, deploy_age: int | None, rolled_back: bool
) -> None:
    # The recorded 500s are from 2026-11-26 00:56:23 UTC: deploys are placed relative to it.
    first_error = datetime(2026, 11, 26, 0, 56, 23, tzinfo=UTC)
    if deploy_age is not None:
        with open_store(tmp_path / "state") as store:
            store.add_event(
                "deploy.done", "r2 live", at=first_error - timedelta(seconds=deploy_age)
            )
    calls: list[str] = []

    def rollback(request: RollbackRequest) -> str:
        calls.append("rollback")
        return "current -> r1 (was r2), verified healthy"

    watcher = watcher_for(tmp_path, rollback=rollback)
    run_until_open(watcher, tmp_path, then=0.5)
    assert calls == (["rollback"] if rolled_back else [])
    with open_store(tmp_path / "state") as store:
        kinds = [e.kind for e in store.events()]
    assert ("rollback.auto" in kinds) is rolled_back
    assert ("rollback.skipped" in kinds) is not rolled_back


def test_rollback_waits_for_the_diagnosis_and_never_repeats(tmp_path: Path) -> None:
    first_error = datetime(2026, 11, 26, 0, 56, 23, tzinfo=UTC)
    with open_store(tmp_path / "state") as store:
        store.add_event(
            "deploy.done",
            "r2 live",
            data={"release": "r2", "previous": "r1"},
            at=first_error - timedelta(seconds=30),
        )
    order: list[str] = []

    async def diagnose() -> dict[str, object]:
        await asyncio.sleep(0.3)
        order.append("diagnosis")
        return DIAGNOSIS

    def rollback(request: RollbackRequest) -> str:
        assert (request.release, request.previous) == ("r2", "r1")
        order.append("rollback")
        return "current -> r1"

    watcher = watcher_for(tmp_path, diagnose=diagnose, rollback=rollback)
    run_until_open(watcher, tmp_path, then=1.0)
    assert order == ["diagnosis", "rollback"]

    # A second incident after the same deploy: that deploy was rolled back already.
    with open_store(tmp_path / "state") as store:
        store.resolve_incident(1, resolved_at=datetime.now(UTC))
    watcher = watcher_for(tmp_path, rollback=rollback)
    run_until_open(watcher, tmp_path, then=0.5)
    assert order == ["diagnosis", "rollback"]
    with open_store(tmp_path / "state") as store:
        skipped = store.events(kinds=["rollback.skipped"])
    assert len(skipped) == 1 and "already rolled back" in skipped[0].message


def test_incident_is_not_resolved_while_the_response_runs(tmp_path: Path) -> None:
    release = asyncio.Event()

    async def diagnose() -> dict[str, object]:
        await release.wait()
        return DIAGNOSIS

    watcher = watcher_for(tmp_path, diagnose=diagnose)

    async def scenario() -> tuple[bool, bool]:
        stop = asyncio.Event()
        task = asyncio.create_task(watcher.run(stop))
        await asyncio.sleep(0.2)
        append(tmp_path / "access.log", FAILED_LINES[:25])
        while watcher.incident is None:
            await asyncio.sleep(0.05)
        ok_lines = [line.replace('" 500 ', '" 200 ') for line in FAILED_LINES[:5]]
        for _ in range(3):  # healthy traffic for longer than the healthy period
            append(tmp_path / "access.log", ok_lines)
            await asyncio.sleep(FAST.healthy_for.total_seconds() / 2)
        held = watcher.incident is not None
        release.set()
        append(tmp_path / "access.log", ok_lines)
        await asyncio.sleep(0.5)
        resolved = watcher.incident is None
        stop.set()
        await task
        return held, resolved

    held, resolved = asyncio.run(scenario())
    assert held and resolved
