"""The changes collector: which files of the site changed recently, and do the PHP ones parse.

Three ways to say "recently": ``--since TIME`` (files modified at or after it), ``--baseline
OLD_TREE`` (files added, removed or different compared with the previous release tree), or,
by default, since the last deploy (the time the ``current`` symlink was switched, when the
docroot is one) falling back to the newest files of the last week. Changed PHP files, and
the last PHP files a traced request loaded, are checked with ``php -l`` (read-only).
Bounded: at most MAX_FILES files walked and MAX_SECONDS spent. Files are read through the
Host (a host given as data is walked as data; `php -l` runs only on this machine's files).
"""

from __future__ import annotations

import os
import posixpath
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from premortem.host import Host, LocalHost, path_chain

MAX_FILES = 50_000
MAX_SECONDS = 2.0
MAX_REPORTED = 50
MAX_LINTED = 8
DEFAULT_WINDOW = 7 * 24 * 3600


@dataclass
class ChangedFile:
    path: str
    kind: str  # added | modified | removed
    mtime: float | None = None


@dataclass
class LintResult:
    file: str
    ok: bool
    message: str = ""
    line: int | None = None


@dataclass
class ChangesEvidence:
    root: str
    since: float | None = None
    baseline: str | None = None
    basis: str = ""
    changed: list[ChangedFile] = field(default_factory=list)
    lint: list[LintResult] = field(default_factory=list)
    truncated: bool = False

    def changed_paths(self) -> set[str]:
        return {os.path.normpath(os.path.join(self.root, c.path)) for c in self.changed}

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "basis": self.basis,
            "since": datetime.fromtimestamp(self.since).isoformat() if self.since else None,
            "baseline": self.baseline,
            "changed": [
                {
                    "path": c.path,
                    "kind": c.kind,
                    "mtime": datetime.fromtimestamp(c.mtime).isoformat() if c.mtime else None,
                }
                for c in self.changed
            ],
            "lint": [
                {"file": r.file, "ok": r.ok, "message": r.message, "line": r.line}
                for r in self.lint
            ],
            "truncated": self.truncated,
        }


def collect_changes(
    root: str,
    *,
    since: float | None = None,
    baseline: str | None = None,
    extra_php: list[str] | None = None,
    host: Host | None = None,
) -> ChangesEvidence:
    """`host`: whose files (default: this machine's); `php -l` runs only on its own."""
    host = host or LocalHost()
    evidence = ChangesEvidence(root=root, since=since, baseline=baseline)
    deadline = time.monotonic() + MAX_SECONDS
    if baseline:
        evidence.basis = f"compared with {baseline}"
        _diff_trees(baseline, root, evidence, deadline, host)
    else:
        if since is None:
            since = _deploy_time(root, host)
            evidence.basis = "since the last deploy (current symlink switch)" if since else ""
        if since is None:
            evidence.basis = "newest files of the last 7 days"
            since = host.now() - DEFAULT_WINDOW
        elif not evidence.basis:
            evidence.basis = "since the given time"
        evidence.since = since
        _newer_than(root, since, evidence, deadline, host)
    evidence.changed.sort(key=lambda c: c.mtime or 0, reverse=True)
    if len(evidence.changed) > MAX_REPORTED:
        evidence.changed = evidence.changed[:MAX_REPORTED]
        evidence.truncated = True
    to_lint: list[str] = []
    seen: set[str] = set()
    for candidate in [
        *(extra_php or []),
        *(os.path.join(root, c.path) for c in evidence.changed if c.kind != "removed"),
    ]:
        # The same file through the `current` link and through its release path: once.
        real = host.realpath(candidate)
        if candidate.endswith(".php") and real not in seen:
            seen.add(real)
            to_lint.append(candidate)
    evidence.lint = lint_php(to_lint[:MAX_LINTED]) if host.local_files else []
    return evidence


def lint_php(files: list[str]) -> list[LintResult]:
    """`php -l` each file (parse only, nothing runs); empty if php-cli is not installed."""
    php = shutil.which("php")
    if php is None:
        return []
    results = []
    for file in files:
        try:
            proc = subprocess.run(
                [php, "-n", "-l", file], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        out = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0 and "error" not in out.lower():
            continue  # "Could not open input file": unreadable, not a syntax error
        line = None
        message = ""
        if proc.returncode != 0:
            first = next((x for x in out.splitlines() if "error" in x.lower()), out)
            message = first.replace("PHP ", "", 1).strip()
            marker = " on line "
            if marker in first:
                tail = first.rsplit(marker, 1)[1].strip()
                line = int(tail) if tail.isascii() and tail.isdigit() else None
        results.append(LintResult(file, proc.returncode == 0, message, line))
    return results


def _deploy_time(root: str, host: Host) -> float | None:
    """When the docroot (or a `current` link on its way) was last switched, if it is a link."""
    for candidate in path_chain(posixpath.normpath(root))[::-1]:
        found = host.stat(candidate)
        if found.is_link:
            return found.mtime or None
    return None


def _newer_than(
    root: str, since: float, evidence: ChangesEvidence, deadline: float, host: Host
) -> None:
    for count, (rel, mtime) in enumerate(host.walk(root, skip=(".git", "node_modules")), 1):
        if count > MAX_FILES or time.monotonic() > deadline:
            evidence.truncated = True
            return
        # Strictly after: files written by the deploy itself predate its link switch.
        if mtime > since:
            evidence.changed.append(ChangedFile(rel, "modified", mtime))


def _diff_trees(old: str, new: str, evidence: ChangesEvidence, deadline: float, host: Host) -> None:
    def walk(base: str) -> dict[str, float]:
        found: dict[str, float] = {}
        for rel, mtime in host.walk(base, skip=(".git",)):
            found[rel] = mtime
            if len(found) > MAX_FILES or time.monotonic() > deadline:
                evidence.truncated = True
                break
        return found

    old_files, new_files = walk(old), walk(new)
    for rel in sorted(set(new_files) - set(old_files)):
        evidence.changed.append(ChangedFile(rel, "added", new_files[rel]))
    for rel in sorted(set(old_files) - set(new_files)):
        evidence.changed.append(ChangedFile(rel, "removed", None))
    for rel in sorted(set(old_files) & set(new_files)):
        if time.monotonic() > deadline:
            evidence.truncated = True
            break
        same = host.same_content(posixpath.join(old, rel), posixpath.join(new, rel))
        if same is False:
            evidence.changed.append(ChangedFile(rel, "modified", new_files[rel]))
