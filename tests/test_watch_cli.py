"""`premortem watch` as a process: clean stop on SIGINT/SIGTERM, clear errors on bad input."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from premortem.store import open_store


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "premortem", "watch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "premortem", "watch", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=cwd,
    )
    # The console wraps long messages at 80 columns; compare words, not line breaks.
    proc.stderr = " ".join(proc.stderr.split())
    return proc


def wait_started(state: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if (state / "premortem.sqlite3").exists():
            with open_store(state) as store:
                if store.events(kinds=["watch.start"]):
                    return
        time.sleep(0.1)
    raise AssertionError("watch did not start")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stops_cleanly_on_signal(tmp_path: Path, signum: signal.Signals) -> None:
    log = tmp_path / "access.log"
    log.write_text("")
    state = tmp_path / "state"
    process = start("--access-log", str(log), "--state-dir", str(state), cwd=tmp_path)
    wait_started(state)
    started = time.monotonic()
    process.send_signal(signum)
    _out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert time.monotonic() - started < 3
    assert "Traceback" not in err
    assert f"{signum.name} received" in err
    with open_store(state) as store:
        assert [e.kind for e in store.events()] == ["watch.start", "watch.stop"]


def test_nothing_to_watch_is_a_usage_error(tmp_path: Path) -> None:
    proc = run("--state-dir", str(tmp_path / "s"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "nothing to watch" in proc.stderr
    no_site = run(cwd=tmp_path)
    assert no_site.returncode == 2 and "which site?" in no_site.stderr


def test_a_url_alone_is_watched_with_state_in_the_sites_own_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No premortem.toml, no --state-dir: the state goes to <state root>/<host>-<port>, where
    # `incidents --url` finds it again.
    monkeypatch.setenv("PREMORTEM_STATE_ROOT", str(tmp_path / "root"))
    process = start("http://127.0.0.1:9/", "--interval", "1s", cwd=tmp_path)
    state = tmp_path / "root" / "127.0.0.1-9"
    wait_started(state)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    listed = subprocess.run(
        [sys.executable, "-m", "premortem", "incidents", "--url", "http://127.0.0.1:9",
         "--format", "json"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "no event store" not in listed.stderr


def test_bad_values_are_clear(tmp_path: Path) -> None:
    proc = run("http://127.0.0.1:9/", "--state-dir", str(tmp_path), "--interval", "soon",
               cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    assert "not a duration" in proc.stderr
    missing = run("--config", str(tmp_path / "nope.toml"), cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert "Traceback" not in proc.stderr + missing.stderr


def test_urls_must_be_http(tmp_path: Path) -> None:
    proc = run("127.0.0.1:8080", "--state-dir", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and "not an http(s) URL" in proc.stderr
    hook = run("http://127.0.0.1:9/", "--state-dir", str(tmp_path), "--webhook", "hooks.example",
               cwd=tmp_path)  # fmt: skip
    assert hook.returncode == 2 and "'hooks.example'" in hook.stderr


def test_incidents_of_a_site_without_store_is_an_empty_list(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "premortem", "incidents", "--format", "json", "--state-dir",
         str(tmp_path / "state")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0
    assert proc.stdout.strip() == "[]"
    assert not (tmp_path / "state").exists()


def test_busy_metrics_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = run("http://127.0.0.1:9/", "--state-dir", str(tmp_path / "s"),
                   "--metrics-port", str(port), cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    assert f"cannot serve metrics on 127.0.0.1:{port}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_print_unit_runs_the_same_watch_as_a_service(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "premortem", "watch", "http://blog.example:8080/",
         "--config", "site.toml", "--interval", "2s", "--print-unit"],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "[Service]" in lines and "[Install]" in lines
    assert f"WorkingDirectory={tmp_path}" in lines
    start = next(line for line in lines if line.startswith("ExecStart="))
    assert start == (
        f"ExecStart={sys.executable} -m premortem watch http://blog.example:8080/ "
        "--config site.toml --interval 2s"
    )
    assert "premortem-watch-blog.example-8080.service" in proc.stdout
    # Nothing ran: no state dir was made for the site.
    assert not (Path(os.environ["PREMORTEM_STATE_ROOT"]) / "blog.example-8080").exists()
