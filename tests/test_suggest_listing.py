"""did-you-mean lists a directory once for many missing includes (10,000 broken includes
into one directory of 200 files were 2 million stats), and sees the directory change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from premortem.php import suggest


def test_a_directory_is_listed_once_and_again_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lib.php").write_text("<?php\n")
    listed: list[str] = []
    real_listdir = suggest._listdir

    def counting(directory: str) -> list[str]:
        listed.append(directory)
        return real_listdir(directory)

    monkeypatch.setattr(suggest, "_listdir", counting)
    for _ in range(50):
        assert suggest.suggest_existing(tmp_path / "lib.phpp") == tmp_path / "lib.php"
    assert listed.count(str(tmp_path)) == 1
    (tmp_path / "lib.php").unlink()
    (tmp_path / "lib.inc").write_text("<?php\n")
    os.utime(tmp_path, ns=(0, os.stat(tmp_path).st_mtime_ns + 1))  # a coarse clock's tick
    assert suggest.suggest_existing(tmp_path / "lib.phpp") == tmp_path / "lib.inc"
    assert listed.count(str(tmp_path)) == 2


def test_a_directory_too_large_gets_no_suggestion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suggest, "MAX_ENTRIES", 20)
    for index in range(21):
        (tmp_path / f"f{index:02}.php").write_text("<?php\n")
    assert suggest.suggest_existing(tmp_path / "f01.phpp") is None
    monkeypatch.setattr(suggest, "MAX_ENTRIES", 50)
    assert suggest.suggest_existing(tmp_path / "f01.phpp") == tmp_path / "f01.php"
