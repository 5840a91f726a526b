"""The strace parser, request cutting, noise/cause separation, and a real attach/detach."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from premortem.collectors.trace import (
    _tracer_of,
    evidence_from_output,
    failed_calls,
    parse_strace,
    requests_in,
    trace_while,
)

TRACES = Path(__file__).parent / "fixtures" / "diagnose" / "trace"
LAB = Path(__file__).parent / "fixtures" / "diagnose" / "lab"


def test_unfinished_and_resumed_calls_are_merged() -> None:
    calls = parse_strace((TRACES / "missing-require.strace").read_text())
    accepts = [c for c in calls if c.name == "accept4"]
    assert accepts and accepts[0].result == "9" and "htons(59708)" in accepts[0].args
    [request] = [r for r in requests_in(calls) if len(r.calls) > 1]
    assert request.client_port == 59708


def test_load_failure_is_the_only_cause_among_the_noise() -> None:
    calls = parse_strace((TRACES / "missing-require.strace").read_text())
    failed = failed_calls(calls)
    causes = [f for f in failed if f.is_cause]
    assert [c.call.path for c in causes] == [
        "/tmp/diag-scratch/wp/wp-includes/class-wp-locale.phpp"
    ]
    reasons = {f.reason for f in failed if not f.is_cause}
    assert "AllowOverride lookup of a per-directory file" in reasons
    assert "existence probe of an optional file" in reasons


def test_refused_nonblocking_connect_and_eacces_are_causes() -> None:
    db = failed_calls(parse_strace((TRACES / "db-refused.strace").read_text()))
    assert [f.reason for f in db if f.is_cause] == ["connection failed with ECONNREFUSED"]
    perm = failed_calls(parse_strace((TRACES / "permission-denied.strace").read_text()))
    assert [f.call.errno for f in perm if f.is_cause] == ["EACCES"]


def test_healthy_lab_request_has_no_cause() -> None:
    trace = evidence_from_output((LAB / "healthy" / "trace.strace").read_text(), None)
    assert trace.failed and trace.causes == []
    assert any(p.endswith("wp-settings.php") for p in trace.loaded_files)


def test_only_the_replayed_request_is_kept() -> None:
    text = (LAB / "seed" / "trace.strace").read_text()
    other = (
        "777 00:00:00.000001 accept4(3, {sa_family=AF_INET, sin_port=htons(1111), "
        'sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 9\n'
        '777 00:00:00.000002 openat(AT_FDCWD, "/other/x.php", O_RDONLY) = -1 EACCES (Permission '
        "denied)\n"
    )
    port = int(__import__("json").loads((LAB / "seed" / "http.json").read_text())["client_port"])
    trace = evidence_from_output(other + text, port)
    assert trace.matched_request
    assert all(c.pid != 777 for c in trace.calls)


@pytest.fixture
def looping_process() -> Iterator[subprocess.Popen[bytes]]:
    code = (
        "import os, time\n"
        "while True:\n"
        "    try: open('/nonexistent/premortem-probe.php')\n"
        "    except OSError: pass\n"
        "    time.sleep(0.01)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(0.2)
    yield proc
    proc.kill()
    proc.wait()


def test_attach_records_and_always_detaches(looping_process: subprocess.Popen[bytes]) -> None:
    pid = looping_process.pid

    def nap() -> str:
        time.sleep(0.3)
        return "done"

    result, output, traced = trace_while([pid], nap)
    assert result == "done" and traced == [pid]
    assert "/nonexistent/premortem-probe.php" in output
    assert _tracer_of(pid) == 0  # detached
    assert looping_process.poll() is None  # and the traced process lives on


def test_detaches_when_the_action_is_interrupted(
    looping_process: subprocess.Popen[bytes],
) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trace_while([looping_process.pid], interrupted)
    assert _tracer_of(looping_process.pid) == 0
    assert looping_process.poll() is None


def test_a_failure_seen_on_the_healthy_request_too_is_noise() -> None:
    def request(pid: int, port: int, *calls: str) -> str:
        accept = (
            f"{pid} 10:00:00.000001 accept4(3, {{sa_family=AF_INET, sin_port=htons({port}), "
            'sin_addr=inet_addr("127.0.0.1")}, [16], SOCK_CLOEXEC) = 9\n'
        )
        return accept + "".join(f"{pid} 10:00:00.000100 {c}\n" for c in calls)

    shared = 'openat(AT_FDCWD, "/etc/site/extra.conf", O_RDONLY) = -1 EACCES (Permission denied)'
    load = 'openat(AT_FDCWD, "/srv/site/x.phpp", O_RDONLY) = -1 ENOENT (No such file or directory)'
    text = request(1, 40000, shared, load) + request(2, 40001, shared)
    alone = evidence_from_output(text, 40000)
    assert len(alone.causes) == 2
    compared = evidence_from_output(text, 40000, healthy_port=40001)
    assert compared.compared_with_healthy
    assert [c.call.path for c in compared.causes] == ["/srv/site/x.phpp"]
    assert all(c.pid == 1 for c in compared.calls)


def test_a_killed_tracer_process_still_detaches(looping_process: subprocess.Popen[bytes]) -> None:
    # A premortem process tracing for 30 s gets SIGTERM: strace must let go at once,
    # not when its time bound ends.
    code = (
        "import sys, time\n"
        "from premortem.collectors.trace import trace_while\n"
        f"trace_while([{looping_process.pid}], lambda: time.sleep(30), max_seconds=60)\n"
    )
    tracer = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while _tracer_of(looping_process.pid) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _tracer_of(looping_process.pid) != 0, "strace never attached"
    tracer.terminate()
    tracer.wait(timeout=10)
    deadline = time.monotonic() + 3
    while _tracer_of(looping_process.pid) != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _tracer_of(looping_process.pid) == 0
    assert looping_process.poll() is None
    assert tracer.stderr is not None and b"KeyboardInterrupt" in tracer.stderr.read()


@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_escaped_paths_are_the_bytes_the_process_asked_for() -> None:
    # strace writes octal (default) or \xNN (-x) for bytes it does not print; a backslash
    # it would not write stays a backslash (unicode_escape warned on it, and will refuse).
    lines = [
        r'1234  10:00:00.000001 openat(AT_FDCWD, "/srv/caf\303\251/index.php", O_RDONLY) = 3',
        r'1234  10:00:00.000002 openat(AT_FDCWD, "/srv/a\x2ephpp", O_RDONLY) = -1 ENOENT',
        r'1234  10:00:00.000003 stat("/srv/odd\qname\\x.php", 0x7ffd) = -1 ENOENT',
    ]
    paths = [call.path for call in parse_strace("\n".join(lines) + "\n")]
    assert paths == ["/srv/café/index.php", "/srv/a.phpp", "/srv/odd\\qname\\x.php"]
