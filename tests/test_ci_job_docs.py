"""The GitHub Actions job shown in the README, docs/check.md and the postmortem's
corrective measures is one job: the docs must not drift from what reports suggest."""

from __future__ import annotations

import re
from pathlib import Path

from premortem.report.measures import CHECK_IN_CI

ROOT = Path(__file__).resolve().parents[1]


def _yaml_blocks(path: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_and_check_docs_show_the_job_reports_suggest() -> None:
    job = CHECK_IN_CI.split("\n", 1)[1]  # without the "# .github/workflows/..." line
    for doc in (ROOT / "README.md", ROOT / "docs" / "check.md"):
        assert job in _yaml_blocks(doc), f"{doc.name} shows another CI job than reports"
