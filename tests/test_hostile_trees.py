"""Hostile trees and logs through the real CLI (small versions of bench/bench_hostile.py):
a 2 GB file, names that are not UTF-8, symlink loops, files rewritten while `check` reads
them, an Apache Include cycle and `IncludeOptional /*`, an nginx include of a glob of 1,500
files (5,000 in the bench), a 10 MB access-log line. Each: a clear message, exit 0/1, no
traceback, the rest of the run done."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_hostile.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_hostile", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_hostile"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


hostile = _bench()


def premortem(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        errors="replace",  # paths that are not UTF-8 are printed as they are
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site: Path = hostile.hostile_tree(tmp_path_factory.mktemp("hostile"))
    return site


def test_check_of_a_hostile_tree(tree: Path) -> None:
    done = premortem("check", str(tree), "--no-cache")
    assert done.returncode in (0, 1)
    assert "skipped 1 PHP file(s): larger than 5 MB" in done.stderr  # the 2 GB file
    assert "symlink loop -> loop-b (not followed)" in done.stdout
    assert "symlink loop -> .. (not followed)" in done.stdout
    # The file whose name is not UTF-8 is found: the include naming it in UTF-8 is offered it.
    assert "include of missing file café.php; did you mean caf" in done.stdout
    assert "2005 PHP files" in done.stdout  # 2000 + index, lib, huge, two non-UTF-8 names


def test_check_while_files_are_rewritten(tree: Path) -> None:
    stop = threading.Event()
    change = hostile.changing(tree)

    def keep_changing() -> None:
        while not stop.is_set():
            change()

    writer = threading.Thread(target=keep_changing, daemon=True)
    writer.start()
    try:
        done = premortem("check", str(tree), "--no-cache")
    finally:
        stop.set()
        writer.join()
    assert done.returncode in (0, 1)
    assert "PHP files" in done.stdout


def test_check_server_config_apache_cycle_and_include_of_root(tmp_path: Path) -> None:
    config = hostile.apache_config(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.php").write_text("<?php echo 1;\n")
    done = premortem("check", str(site), "--server-config", str(config), "--format", "json")
    assert done.returncode in (0, 1)
    assert "Include cycle" in done.stdout
    assert done.stdout.count("the config reaches more than") == 1


def test_check_server_config_nginx_include_of_1500_files(tmp_path: Path) -> None:
    config = hostile.nginx_config(tmp_path, 1500)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.php").write_text("<?php echo 1;\n")
    done = premortem("check", str(site), "--server-config", str(config), "--format", "json")
    assert done.returncode == 1
    assert "root /srv/s1499 does not exist" in done.stdout, "the last included file is read"


def test_impact_of_a_log_with_a_10mb_line(tmp_path: Path) -> None:
    log = hostile.access_log(tmp_path)
    done = premortem("impact", str(log), "--format", "json")
    assert done.returncode == 0
    assert '"requests": 5000' in done.stdout.replace("\n", " ").replace("  ", " ")


def test_diagnose_logs_collector_reads_a_bounded_tail_of_a_10mb_error_line(
    tmp_path: Path,
) -> None:
    """diagnose's logs collector: an Apache error log and an nginx one whose last-but-one
    line is 10 MB; only the tail is read, and the line after it is still found."""
    import time
    from datetime import datetime

    from premortem.collectors.logs import TAIL_BYTES, collect_logs

    now = time.time()
    stamp = datetime.fromtimestamp(now).strftime("%a %b %d %H:%M:%S.%f %Y")
    apache_log = tmp_path / "error.log"
    apache_log.write_text(
        f"[{stamp}] [php:error] [pid 1] [client 127.0.0.1:5] PHP Fatal error:  "
        + "x" * 10_000_000
        + "\n"
        + f"[{stamp}] [php:error] [pid 1] [client 127.0.0.1:6] PHP Fatal error:  Uncaught "
        "Error: the last line in /srv/a.php:3\n"
    )
    evidence = collect_logs([str(apache_log)], None, request_start=now - 1, request_end=now)
    assert evidence.lines, "the line after the 10 MB one is read"
    assert "the last line" in evidence.lines[-1].message
    assert sum(len(line.raw) for line in evidence.lines) <= TAIL_BYTES
