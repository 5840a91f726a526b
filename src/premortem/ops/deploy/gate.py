"""Gate: `premortem check` of the new release, with the current release as the baseline.

Only errors the current release does not already have stop the deploy: a site that lives
with an old warning or error can still ship fixes, and the seed's typo (a new unresolved
include in wp-settings.php) stops it. Findings are matched across releases by check's own
fingerprint (rule, file, the source line's text, message: line numbers move when code is
added above). The first deploy of a site has no baseline: every error stops it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from premortem.check.context import CheckOptions
from premortem.check.runner import new_relative_to, run_check
from premortem.model import Finding


@dataclass
class GateResult:
    new_errors: list[Finding] = field(default_factory=list)
    release_errors: int = 0
    baseline_errors: int = 0
    files_checked: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.new_errors

    def summary(self) -> str:
        if self.ok:
            return (
                f"check passed: no new errors ({self.release_errors} in the release, "
                f"{self.baseline_errors} in the current one)"
            )
        first = self.new_errors[0]
        return (
            f"check found {len(self.new_errors)} new error(s); first: {first.rule} at "
            f"{first.file}:{first.line}: {first.message}"
        )

    def describe(self, limit: int = 10) -> list[str]:
        lines = []
        for finding in self.new_errors[:limit]:
            line = f"{finding.file}:{finding.line}: {finding.rule}: {finding.message}"
            if finding.suggestion:
                line += f" ({finding.suggestion})"
            lines.append(line)
        if len(self.new_errors) > limit:
            lines.append(f"... and {len(self.new_errors) - limit} more")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "new_errors": [f.to_dict() for f in self.new_errors],
            "release_errors": self.release_errors,
            "baseline_errors": self.baseline_errors,
            "files_checked": self.files_checked,
        }


def run_gate(
    release: Path, baseline: Path | None, *, web_user: str = "www-data", server_config: str = ""
) -> GateResult:
    """`premortem check` (in-process) of `release`; errors not in `baseline` fail the gate."""

    started = time.monotonic()
    options = CheckOptions(user=web_user, server_configs=[server_config] if server_config else [])
    checked = run_check(release, options)
    release_errors = [f for f in checked.findings if f.severity == "error"]
    if baseline is not None and baseline.is_dir():
        before = run_check(baseline, options)
        fresh = new_relative_to(checked, before)
        baseline_errors = sum(1 for f in before.findings if f.severity == "error")
    else:
        fresh, baseline_errors = checked.findings, 0
    return GateResult(
        new_errors=[f for f in fresh if f.severity == "error"],
        release_errors=len(release_errors),
        baseline_errors=baseline_errors,
        files_checked=int(checked.stats.get("php_files", 0)),
        seconds=time.monotonic() - started,
    )
