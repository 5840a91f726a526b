"""Shared fixtures: a real lab (Apache + mod_php, MariaDB, WordPress on 127.0.0.1).

`lab` (session): one lab in a fresh temp dir on a free port (never /srv/premortem-lab or
8080, so it cannot collide with a developer's lab), downed and destroyed at the end.
`healthy_lab` (function): the same lab, repaired and answering 200 before the test, and
repaired again after it.
`nginx_lab` / `healthy_nginx_lab`: the same for the nginx + php-fpm flavour, in its own temp
dir on its own free port. Tests that use any of them are marked `lab` automatically (a
convenience: modules that start servers say `pytestmark = pytest.mark.lab` themselves).

lab_guard.py fails any other test that starts a server, and a run that selects no `lab`
test if it leaves one running.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from lab_guard import LabGuard
from premortem.ops.lab import Lab
from premortem.ops.lab.procs import free_port

# pytester runs the lab guard's own tests (test_lab_guard.py) in a pytest of their own.
pytest_plugins = ("pytester",)

LAB_FIXTURES = {
    "lab",
    "healthy_lab",
    "nginx_lab",
    "healthy_nginx_lab",
    "tls_lab",
    "healthy_tls_lab",
    "nginx_tls_lab",
    "healthy_nginx_tls_lab",
    "apache_fpm_lab",
    "healthy_apache_fpm_lab",
}

# The property tests (tests/test_fuzz_*.py, strategies in tests/fuzzing.py): `make test`
# runs the fast profile, `make fuzz` the long one (HYPOTHESIS_PROFILE=fuzz). No example
# database: what Hypothesis finds is kept as an explicit @example or test instead.
_HYPOTHESIS_COMMON = {
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
# The fast profile is derandomized: `make test` (CI) runs the same examples every time, so
# a red run is a regression, not a lucky draw; `make fuzz` explores at random.
settings.register_profile(
    "fast",
    max_examples=40,
    deadline=timedelta(seconds=2),
    derandomize=True,
    **_HYPOTHESIS_COMMON,
)
settings.register_profile(
    "fuzz", max_examples=10_000, deadline=timedelta(seconds=5), **_HYPOTHESIS_COMMON
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
FUZZ_TEST_PREFIX = "tests/test_fuzz_"
_fuzz_seconds: dict[str, float] = {}
_fuzz_examples: dict[str, int] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(LabGuard(), "lab_guard")
    # Commands run without a state dir keep their state under the state root
    # (/var/lib/premortem as root): the tests' goes to a directory of their own.
    os.environ["PREMORTEM_STATE_ROOT"] = tempfile.mkdtemp(prefix="premortem-test-state-")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.pop("PREMORTEM_STATE_ROOT", ""), ignore_errors=True)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.nodeid.startswith(FUZZ_TEST_PREFIX):
        _fuzz_seconds[report.nodeid] = report.duration


def pytest_runtest_teardown(item: pytest.Item) -> None:
    # Hypothesis's plugin describes each run's statistics on the item ("- 40 passing, ...").
    described = getattr(item, "hypothesis_statistics", "")
    counts = re.findall(r"(\d+) passing", described)
    if counts and item.nodeid.startswith(FUZZ_TEST_PREFIX):
        _fuzz_examples[item.nodeid] = sum(int(count) for count in counts)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """With the fuzz profile: how long each parser's property test took, and the total."""
    if os.environ.get("HYPOTHESIS_PROFILE") != "fuzz" or not _fuzz_seconds:
        return
    write = terminalreporter.write_line
    terminalreporter.section("fuzz: seconds and passing examples per property test")
    for nodeid, seconds in sorted(_fuzz_seconds.items(), key=lambda item: -item[1]):
        examples = _fuzz_examples.get(nodeid, 0)
        write(f"{seconds:8.1f} s {examples:7d}  {nodeid.removeprefix(FUZZ_TEST_PREFIX)}")
    total = sum(_fuzz_seconds.values())
    write(f"{total:8.1f} s {sum(_fuzz_examples.values()):7d}  total ({len(_fuzz_seconds)} tests)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)
    # Under pytest-xdist (`--dist loadfile`, what `make test` runs) a file's tests stay on one
    # worker, so a module-scoped lab starts once. The fleet-lab files come first (the longest,
    # they would finish last if picked up late), one at the start and the others last, so that
    # two fleets (namespaces, bridge, HAProxy, several Apaches) rarely run at the same time.
    # (`--dist loadgroup` cannot group them: pytest-xdist 3.8 renames node ids through
    # `_nodeid`, which pytest 9 no longer reads.)
    fleets = sorted({item.path.stem for item in items if _is_fleet_lab(item)})
    first = fleets[:1]
    items.sort(key=lambda item: _order(item, first))


def _is_fleet_lab(item: pytest.Item) -> bool:
    return item.path.stem.startswith("test_fleet_") and "lab" in item.path.stem


def _order(item: pytest.Item, first: list[str]) -> int:
    if item.path.stem in first:
        return 0
    return 2 if _is_fleet_lab(item) else 1


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _session_lab(server: str, tls: bool = False) -> Iterator[Lab]:
    # Under /tmp (mode 1777) and 0755: the web server's www-data workers and mysql must
    # traverse it, which pytest's own 0700 tmp_path would not allow.
    prefix = "premortem-lab-test-" if server == "apache" else f"premortem-{server}-lab-test-"
    prefix += "tls-" if tls else ""
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(base, 0o755)
    the_lab = Lab(base / "lab", progress=_progress)
    try:
        the_lab.up(port=free_port(), server=server, tls=tls)
        yield the_lab
    finally:
        try:
            the_lab.destroy()
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    yield from _session_lab("apache")


@pytest.fixture(scope="session")
def nginx_lab() -> Iterator[Lab]:
    yield from _session_lab("nginx")


@pytest.fixture(scope="session")
def tls_lab() -> Iterator[Lab]:
    """An Apache lab serving https://premortem-lab.test:PORT/ with its own CA."""
    yield from _session_lab("apache", tls=True)


@pytest.fixture(scope="session")
def nginx_tls_lab() -> Iterator[Lab]:
    yield from _session_lab("nginx", tls=True)


@pytest.fixture
def healthy_tls_lab(tls_lab: Lab) -> Iterator[Lab]:
    _heal(tls_lab)
    yield tls_lab
    _heal(tls_lab)


@pytest.fixture
def healthy_nginx_tls_lab(nginx_tls_lab: Lab) -> Iterator[Lab]:
    _heal(nginx_tls_lab)
    yield nginx_tls_lab
    _heal(nginx_tls_lab)


@pytest.fixture(scope="session")
def apache_fpm_lab() -> Iterator[Lab]:
    yield from _session_lab("apache-fpm")


@pytest.fixture
def healthy_lab(lab: Lab) -> Iterator[Lab]:
    _heal(lab)
    yield lab
    _heal(lab)


@pytest.fixture
def healthy_nginx_lab(nginx_lab: Lab) -> Iterator[Lab]:
    _heal(nginx_lab)
    yield nginx_lab
    _heal(nginx_lab)


@pytest.fixture
def healthy_apache_fpm_lab(apache_fpm_lab: Lab) -> Iterator[Lab]:
    _heal(apache_fpm_lab)
    yield apache_fpm_lab
    _heal(apache_fpm_lab)


def _heal(lab: Lab) -> None:
    lab.repair()
    if not lab.status().running:
        state = lab.state
        assert state is not None
        lab.up(port=state.port)
    lab.wait_healthy(timeout=20)
    # The error logs start empty, as after a logrotate: diagnose counts the last minute's
    # errors as the incident's, and a scenario a test before broke (too many open files, a
    # fatal) must not be read as this test's. Truncated in place: the servers append.
    for log in (
        lab.paths.error_log,
        lab.paths.php_error_log,
        lab.paths.fpm_log,
        lab.paths.mariadb_log,
    ):
        if log.exists():
            os.truncate(log, 0)
