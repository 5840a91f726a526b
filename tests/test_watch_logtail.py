"""The access-log tail: starts at the end, follows rotation (rename) and truncation."""

from __future__ import annotations

import os
from pathlib import Path

from premortem.watch.logtail import LogTail

LINE = '127.0.0.1 - - [26/Nov/2026:00:44:19 +0000] "GET /{n} HTTP/1.1" 200 5 "-" "curl/7.88.1"\n'


def write(path: Path, *numbers: int, mode: str = "a") -> None:
    with open(path, mode) as handle:
        handle.writelines(LINE.format(n=n) for n in numbers)


def paths(lines: list[str]) -> list[str]:
    return [line.split('"')[1].split()[1] for line in lines]


def test_starts_at_the_end_and_returns_only_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    write(log, 1, 2)
    tail = LogTail(log)
    assert tail.poll() == []
    write(log, 3)
    with open(log, "a") as handle:
        handle.write(LINE.format(n=4)[:20])
    assert paths(tail.poll()) == ["/3"]
    with open(log, "a") as handle:
        handle.write(LINE.format(n=4)[20:])
    assert paths(tail.poll()) == ["/4"]
    tail.close()


def test_rotation_by_rename_drains_the_old_file_then_reads_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    write(log, 1)
    tail = LogTail(log)
    write(log, 2)
    os.rename(log, tmp_path / "access.log.1")
    # The server still writes to the renamed file until it reopens its logs.
    write(tmp_path / "access.log.1", 3)
    write(log, 4, 5)
    assert paths(tail.poll()) == ["/2", "/3", "/4", "/5"]
    assert tail.rotations == 1
    write(log, 6)
    assert paths(tail.poll()) == ["/6"]
    tail.close()


def test_truncation_restarts_at_the_beginning(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    write(log, 1, 2, 3)
    tail = LogTail(log)
    write(log, 4)
    assert paths(tail.poll()) == ["/4"]
    write(log, 5, mode="w")  # copytruncate, then a new line
    assert paths(tail.poll()) == ["/5"]
    assert tail.truncations == 1
    tail.close()


def test_missing_file_is_quiet_and_read_from_the_start_when_it_appears(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    tail = LogTail(log)
    assert tail.poll() == []
    write(log, 1, 2)
    assert paths(tail.poll()) == ["/1", "/2"]
    log.unlink()
    assert tail.poll() == []
    write(log, 3)
    assert paths(tail.poll()) == ["/3"]
    tail.close()


def test_invalid_utf8_does_not_break_the_tail(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(b"")
    tail = LogTail(log)
    with open(log, "ab") as handle:
        handle.write(b"\xff\xfe garbage\n")
    write(log, 7)
    lines = tail.poll()
    assert len(lines) == 2
    assert paths(lines[1:]) == ["/7"]
    tail.close()
