"""Lab guard: a test that starts a server must be marked `lab`, and a unit run starts none.

Two checks, loaded by conftest.py:

- **Per test.** While a test that is not marked `lab` sets up and runs, every process the
  test process starts goes through `server_started_by` (subprocess.Popen is wrapped: it is
  what `subprocess.run`, the lab's `run_server_command` and MariaDB's start all use). Starting
  apache2, apache2ctl, nginx, php-fpm, mariadbd or mariadb-install-db fails the test at once
  with "this test starts apache2: mark it `lab`". Asking a server binary something (`-t`,
  `-v`, `-M`, `configtest`...) starts no server and stays allowed.
- **Per session.** A run that selects no `lab` test (`-m "not lab"`) makes this process a
  child subreaper, so a daemon started by any child (a `premortem` CLI child, a shell) stays
  our descendant instead of being adopted by init. A server among our descendants after a
  test fails that test; one still running at the end fails the session (and is stopped).
  Descendants, not a system-wide before/after diff: the system's own Apache and other
  people's labs on the same machine must not count.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shlex
import subprocess
from collections.abc import Callable, Collection, Generator, Iterator, Sequence
from typing import Any

import psutil
import pytest

# Programs that start (or signal) a web, PHP or database server.
SERVER_PROGRAMS = frozenset(
    {
        "apache2",
        "apache2ctl",
        "apachectl",
        "httpd",
        "nginx",
        "php-fpm",
        "php-fpm8.2",
        "mariadbd",
        "mysqld",
        "mysqld_safe",
        "mariadbd-safe",
        "mariadb-install-db",
        "mysql_install_db",
        # Monitoring and fleet servers the tests run (the fleet lab's balancer, its sshd).
        "prometheus",
        "prometheus-alertmanager",
        "haproxy",
        "sshd",
    }
)
# Process names a running server shows (psutil's name(), the kernel's 15-character comm).
SERVER_PROCESS_NAMES = frozenset(
    {"apache2", "httpd", "nginx", "php-fpm8.2", "mariadbd", "mysqld"}
    | {"prometheus", "haproxy", "sshd"}
)
# Arguments that only ask the binary something (config test, version, modules, help).
QUERY_ARGS = frozenset(
    {"-t", "-T", "-tt", "-S", "-M", "-l", "-L", "-v", "-V", "-h", "-?", "-i", "-m"}
    | {"--version", "--help", "--test", "configtest", "-DDUMP_MODULES", "-DDUMP_VHOSTS"}
)
# Programs that run another program: look past them (and their options) to it.
WRAPPERS = frozenset({"prlimit", "env", "setsid", "nohup", "nice", "sudo", "runuser", "timeout"})
SHELLS = frozenset({"sh", "bash", "dash"})
# Where the installed servers live; a copy of /bin/true named nginx in tmp_path is no server.
SYSTEM_BIN_DIRS = frozenset({"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"})
PR_SET_CHILD_SUBREAPER = 36
_SHELL_SEPARATORS = re.compile(r"[;&|\n()]+")


def message(program: str) -> str:
    return (
        f"this test starts {program}: mark it `lab` (pytestmark = pytest.mark.lab), "
        "or keep it a unit test that starts no server"
    )


def _past_wrappers(argv: Sequence[str]) -> Sequence[str]:
    """argv from the program that a wrapper (prlimit --nofile=..., env X=1, timeout 5) runs."""
    index = 0
    while index < len(argv) and os.path.basename(argv[index]) in WRAPPERS:
        index += 1
        while index < len(argv) and (
            argv[index].startswith("-") or "=" in argv[index] or argv[index].isdigit()
        ):
            index += 1
    return argv[index:]


def _shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a shell script, split on ; & | newlines and parentheses."""
    commands: list[list[str]] = []
    for part in _SHELL_SEPARATORS.split(script):
        with contextlib.suppress(ValueError):
            words = shlex.split(part)
            if words:
                commands.append(words)
    return commands


def server_started_by(args: str | Sequence[str | os.PathLike[str] | bytes], shell: bool) -> str:
    """The server program this command line starts, or "" when it starts none."""
    if isinstance(args, str | bytes | os.PathLike):
        text = os.fsdecode(args)
        commands = _shell_commands(text) if shell else [[text]]
    else:
        commands = [[os.fsdecode(arg) for arg in args]]
    for command in commands:
        argv = _past_wrappers(command)
        if not argv:
            continue
        program = os.path.basename(argv[0])
        installed = "/" not in argv[0] or os.path.dirname(argv[0]) in SYSTEM_BIN_DIRS
        if program in SHELLS and len(argv) >= 3 and argv[1] == "-c":
            found = server_started_by(argv[2], shell=True)
            if found:
                return found
        elif installed and program in SERVER_PROGRAMS and not QUERY_ARGS & set(argv[1:]):
            return program
    return ""


_REAL_POPEN = subprocess.Popen


class _GuardedPopen(_REAL_POPEN):  # type: ignore[type-arg]
    def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
        program = server_started_by(args, bool(kwargs.get("shell", False)))
        if program:
            # pytest.fail raises a BaseException: an `except Exception` in the code under test
            # cannot swallow it.
            pytest.fail(message(program))
        super().__init__(args, *rest, **kwargs)


@contextlib.contextmanager
def guarding_servers() -> Iterator[None]:
    """While inside, starting a server from this process fails the test."""
    subprocess.Popen = _GuardedPopen  # type: ignore[misc]
    try:
        yield
    finally:
        subprocess.Popen = _REAL_POPEN  # type: ignore[misc]


def running_servers_we_started(already: Collection[int] = ()) -> list[psutil.Process]:
    """Server processes among this process's descendants (all that the run started, once
    this process is a subreaper), but those in `already` (running when the guard began: an
    enclosing run's lab, when the guard's own tests run pytest in this process)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        if child.pid in already:
            continue
        with contextlib.suppress(psutil.Error):
            if child.name() in SERVER_PROCESS_NAMES and child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
    return found


def _describe(processes: list[psutil.Process]) -> str:
    lines = []
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            lines.append(f"  {proc.pid} {' '.join(proc.cmdline())}")
    return "\n".join(lines)


def _become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _is_lab(item: pytest.Item) -> bool:
    return item.get_closest_marker("lab") is not None


class LabGuard:
    """The pytest plugin: see the module docstring. become_subreaper is swappable so that the
    guard's own tests can watch their direct children without changing this process."""

    def __init__(self, become_subreaper: Callable[[], bool] = _become_subreaper) -> None:
        self.become_subreaper = become_subreaper
        self.watching_descendants = False
        # Servers that ran before this run began watching are not its to judge or stop.
        self.already: set[int] = set()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.items and not any(_is_lab(item) for item in session.items):
            self.already = {proc.pid for proc in running_servers_we_started()}
            self.watching_descendants = self.become_subreaper()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._guarded(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        result = yield from self._guarded(item)
        if self.watching_descendants and not _is_lab(item):
            left = running_servers_we_started(self.already)
            if left:
                names = sorted({proc.name() for proc in left})
                pytest.fail(f"{message(names[0])}\n{_describe(left)}")
        return result

    def _guarded(self, item: pytest.Item) -> Generator[None, object, object]:
        if _is_lab(item):
            return (yield)
        with guarding_servers():
            return (yield)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.watching_descendants:
            return
        left = running_servers_we_started(self.already)
        if not left:
            return
        report = _describe(left)
        for proc in left:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        # SIGKILL is delivered asynchronously: on a busy host the process can still show as
        # running right after kill(), so the session waits for it to be gone (or a zombie).
        psutil.wait_procs(left, timeout=10)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = f"lab guard: this run (no `lab` test selected) left servers running:\n{report}"
        if reporter is not None:
            reporter.write_line(text, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
