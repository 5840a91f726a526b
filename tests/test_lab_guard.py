"""The lab guard (lab_guard.py): a test not marked `lab` that starts a server fails, with a
message that says what to do; asking a server binary something stays allowed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psutil
import pytest

from lab_guard import LabGuard, running_servers_we_started, server_started_by


@pytest.mark.parametrize(
    ("command", "shell", "server"),
    [
        # The lab's Apache start, with the open-files limit it can be given.
        (
            [
                "prlimit",
                "--nofile=64:64",
                "/usr/sbin/apache2",
                "-f",
                "/x/httpd.conf",
                "-k",
                "start",
            ],
            False,
            "apache2",
        ),
        (["/usr/sbin/mariadbd", "--defaults-file=/x/my.cnf"], False, "mariadbd"),
        (["mariadb-install-db", "--defaults-file=/x/my.cnf"], False, "mariadb-install-db"),
        (["/usr/sbin/php-fpm8.2", "-y", "/x/php-fpm.conf"], False, "php-fpm8.2"),
        (["sh", "-c", "cd /x && apache2ctl start"], False, "apache2ctl"),
        ("nginx -c /x/nginx.conf", True, "nginx"),
        # Config tests and questions start nothing.
        (["/usr/sbin/apache2", "-f", "/x/httpd.conf", "-t"], False, ""),
        (["/usr/sbin/nginx", "-c", "/x/nginx.conf", "-t"], False, ""),
        (["apache2ctl", "configtest"], False, ""),
        (["mariadbd", "--version"], False, ""),
        # A server's name as an argument, or a test's own program named like one.
        (["premortem", "check", "--server", "nginx", "."], False, ""),
        (["/tmp/pytest-of-root/zombie/nginx"], False, ""),
    ],
)
def test_server_started_by_names_the_server_a_command_starts(
    command: list[str] | str, shell: bool, server: str
) -> None:
    assert server_started_by(command, shell) == server


UNMARKED_START = """
import subprocess

import pytest


def test_starts_nginx():
    try:  # code under test that swallows errors must not hide the start
        subprocess.run(["/usr/sbin/nginx", "-c", "/nonexistent/nginx.conf"], check=False)
    except Exception:
        pass


@pytest.mark.lab
def test_marked_lab_is_not_guarded():
    import lab_guard

    assert subprocess.Popen is lab_guard._REAL_POPEN


def test_config_test_is_allowed():
    proc = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-c", "/nonexistent/nginx.conf"], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "/nonexistent/nginx.conf" in proc.stderr
"""


def test_unmarked_test_that_starts_a_server_fails_with_the_fix(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=UNMARKED_START)
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", plugins=[LabGuard(become_subreaper=lambda: False)]
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*this test starts nginx: mark it `lab`*"])
    result.stdout.fnmatch_lines(["FAILED test_inner.py::test_starts_nginx*"])


LEAVES_A_SERVER = """
import subprocess


def test_leaves_nginx_running():
    subprocess.Popen(["{binary}", "600"])
"""


def test_unit_run_that_leaves_a_server_running_fails_and_stops_it(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    # A long sleep whose process name is nginx: what the descendant check sees of a daemon
    # that a child process (not this one's Popen) started.
    binary = tmp_path / "nginx"
    shutil.copy("/bin/sleep", binary)
    pytester.makepyfile(test_inner=LEAVES_A_SERVER.format(binary=binary))
    # A full run's session labs (mariadbd...) are this process's descendants too: not ours.
    before = {p.pid for p in running_servers_we_started()}
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", plugins=[LabGuard(become_subreaper=lambda: True)]
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*left servers running*", "*/nginx 600"])
    result.stdout.fnmatch_lines(["*this test starts nginx: mark it `lab`*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    left = {p.pid for p in running_servers_we_started()}
    assert left <= before, "the guard stops what the run left running, and only that"


def test_descendant_servers_are_found_until_they_exit(tmp_path: Path) -> None:
    binary = tmp_path / "mariadbd"
    shutil.copy("/bin/sleep", binary)
    before = {p.pid for p in running_servers_we_started()}
    proc = subprocess.Popen([str(binary), "600"])
    try:
        assert [p.pid for p in running_servers_we_started(before)] == [proc.pid]
    finally:
        proc.kill()
        proc.wait()
    assert proc.pid not in [p.pid for p in running_servers_we_started()]
    assert not psutil.pid_exists(proc.pid)
