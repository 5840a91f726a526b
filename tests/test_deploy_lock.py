"""The deploy lock: contention is refused with who holds it; a dead holder's lock is stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from premortem.errors import PremortemError
from premortem.ops.deploy.lock import DeployLock

HOLD = """
import sys, time
from pathlib import Path
from premortem.ops.deploy.lock import DeployLock
with DeployLock(Path(sys.argv[1]), "deploy /build/one"):
    print("locked", flush=True)
    time.sleep(60)
"""


def _holder(state: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_deploy_is_refused_with_the_holder(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        with pytest.raises(PremortemError) as info, DeployLock(tmp_path, "deploy /build/two"):
            pass
        message = str(info.value)
        assert f"pid {proc.pid}" in message
        assert "deploy /build/one" in message
    finally:
        proc.kill()
        proc.wait()


def test_lock_of_a_killed_deploy_is_stale_and_taken_over(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    proc.kill()  # SIGKILL: no cleanup ran
    proc.wait()
    with DeployLock(tmp_path, "deploy /build/two") as lock:
        assert lock.stale is not None
        assert lock.stale.pid == proc.pid
        assert not lock.stale.alive()
        holder = json.loads((tmp_path / "deploy.lock").read_text())
        assert holder["pid"] == os.getpid()


def test_clean_release_leaves_no_stale_holder(tmp_path: Path) -> None:
    with DeployLock(tmp_path, "deploy a"):
        pass
    with DeployLock(tmp_path, "deploy b") as lock:
        assert lock.stale is None


def test_lock_is_free_again_after_contention(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    proc.terminate()
    proc.wait()
    deadline = time.monotonic() + 5
    while True:
        try:
            with DeployLock(tmp_path, "deploy c"):
                break
        except PremortemError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
