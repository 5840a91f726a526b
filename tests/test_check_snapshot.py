"""The text `premortem check` prints on the seed release, kept as a reviewed snapshot.

Refresh after an intended change of the output with PREMORTEM_UPDATE_SNAPSHOTS=1 (see
tests/fixtures/problems/README.md) and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from check_helpers import make_seed_release, run_cli

SNAPSHOT = Path(__file__).parent / "fixtures" / "snapshots" / "check-seed.txt"


def normalised(text: str, release: Path) -> str:
    """The output with what differs between runs replaced: the release path, the duration."""
    text = text.replace(str(release), "<RELEASE>")
    return re.sub(r"\| \d+(?:\.\d+)?s$", "| <SECONDS>s", text, flags=re.MULTILINE)


def test_check_text_on_the_seed_release(tmp_path: Path) -> None:
    release = make_seed_release(tmp_path / "wordpress")
    proc = run_cli("check", str(release), "--no-cache")
    assert proc.returncode == 1, proc.stderr
    text = normalised(proc.stdout, release)
    if os.environ.get("PREMORTEM_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()
