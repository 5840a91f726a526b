"""The host collector: statvfs of the site's file systems, descriptors against limits."""

from __future__ import annotations

import os
from pathlib import Path

from premortem.collectors.host import collect_host
from premortem.host import LocalHost


def test_disks_workers_and_memory(tmp_path: Path) -> None:
    host = collect_host(
        [str(tmp_path / "not" / "yet"), str(tmp_path)], [os.getpid(), 999999], LocalHost()
    )
    [disk] = host.disks  # one file system, counted once; missing paths use their parent
    assert disk.total_bytes > 0 and 0 < disk.free_fraction <= 1
    [me] = host.workers  # the vanished pid is skipped
    assert me.pid == os.getpid() and 0 < me.open_fds < me.soft_limit
    assert 0 < host.memory_available <= host.memory_total
