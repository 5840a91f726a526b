"""The parse's work sharing between this process and forked copies (php.forkwork)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.php import forkwork, parsing
from premortem.php.forkwork import WorkerDied, map_forked
from premortem.php.parsing import parse_tree
from premortem.php.walk import walk_tree

WORDPRESS = Path("/usr/share/wordpress")


def _square_with_pid(number: int) -> tuple[int, int]:
    time.sleep(0.002)  # long enough that the children start before the parent is done
    return number * number, os.getpid()


def test_every_job_done_once_in_order_by_several_processes() -> None:
    jobs = list(range(200))
    results = map_forked(_square_with_pid, jobs, 3)
    assert [value for value, _ in results] == [n * n for n in jobs]
    pids = {pid for _, pid in results}
    # The parent works too, and at least one child took jobs.
    assert os.getpid() in pids
    assert len(pids) >= 2


def test_more_jobs_than_the_pipe_holds_are_grouped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forkwork, "MAX_TASKS", 7)
    jobs = list(range(100))
    assert [value for value, _ in map_forked(_square_with_pid, jobs, 2)] == [n * n for n in jobs]


def test_one_process_or_one_job_runs_here() -> None:
    assert map_forked(_square_with_pid, [3, 4], 1) == [(9, os.getpid()), (16, os.getpid())]
    assert map_forked(_square_with_pid, [5], 4) == [(25, os.getpid())]


PARENT = os.getpid()


def _die_in_a_child(number: int) -> int:
    if os.getpid() != PARENT:
        os._exit(3)  # what a crash in the C parser looks like from outside
    time.sleep(0.01)  # the parent is slow: the child surely takes a job
    return number


def test_a_dead_child_is_an_error_not_a_hang() -> None:
    with pytest.raises(WorkerDied):
        map_forked(_die_in_a_child, list(range(40)), 2)


def _fail_in_parent(number: int) -> int:
    if os.getpid() == PARENT:
        raise ValueError("boom")
    time.sleep(0.01)
    return number


def test_an_error_in_the_parent_stops_and_reaps_the_children(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    children: list[int] = []
    real_fork = os.fork

    def recording_fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recording_fork)
    with pytest.raises(ValueError, match="boom"):
        map_forked(_fail_in_parent, list(range(50)), 3)
    assert len(children) == 2
    for pid in children:
        with pytest.raises(ChildProcessError):  # already reaped: not running, no zombie
            os.waitpid(pid, os.WNOHANG)


def test_parse_tree_reports_a_dead_worker_clearly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for number in range(parsing.PARALLEL_THRESHOLD + 12):
        (tmp_path / f"page{number}.php").write_text(
            f"<?php require __DIR__ . '/page{number}.php';\n"
        )
    real_parse_path = parsing._parse_path

    def crashing(job: tuple[str, bool, bool]) -> tuple[str, parsing.Outcome]:
        if os.getpid() != PARENT:
            os._exit(139)  # as a segfault in tree-sitter would
        time.sleep(0.01)  # the parent is slow: a child surely takes a job
        return real_parse_path(job)

    monkeypatch.setattr(parsing, "_parse_path", crashing)
    with pytest.raises(PremortemError, match="worker process died"):
        parse_tree(walk_tree(str(tmp_path)), use_cache=False, workers=2)


def test_parallel_and_serial_parses_agree() -> None:
    tree = walk_tree(str(WORDPRESS / "wp-admin"))
    serial = parse_tree(tree, use_cache=False, workers=1)
    parallel = parse_tree(tree, use_cache=False, workers=2)
    assert len(parallel.files) == len(serial.files) > parsing.PARALLEL_THRESHOLD
    assert [(f.entry.rel, f.facts) for f in parallel.files] == [
        (f.entry.rel, f.facts) for f in serial.files
    ]
