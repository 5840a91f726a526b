"""The lab's process helpers: what counts as a server's worker while it reloads."""

from __future__ import annotations

import os
import subprocess
import time

import psutil

from premortem.ops.lab.procs import living_child_pids


def test_an_exited_unreaped_worker_is_a_child_but_not_a_living_one() -> None:
    # A worker that exited on a graceful restart stays a zombie child until the master
    # reaps it: the lab's "new workers run" must not count it (CI: diagnose found none).
    exited = subprocess.Popen(["true"])
    running = subprocess.Popen(["sleep", "30"])
    try:
        deadline = time.monotonic() + 10
        while psutil.Process(exited.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline, "`true` did not exit"
            time.sleep(0.01)
        children = {child.pid for child in psutil.Process().children()}
        assert {exited.pid, running.pid} <= children
        living = living_child_pids(os.getpid())
        assert running.pid in living and exited.pid not in living
    finally:
        running.kill()
        running.wait()
        exited.wait()
    assert living_child_pids(2**22 + 1) == []  # no such process: no children
