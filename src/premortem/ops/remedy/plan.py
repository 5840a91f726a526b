"""Plan a fix: resolve each edit to a file inside the site, check it still says what the
diagnosis saw, and compute the new content and a unified diff. Nothing is written here.

Edits name files relative to the site's docroot (`current`), as diagnose reports them, or
absolutely. A file whose real path (symlinks resolved) is outside the site root is refused:
a diagnosis, perhaps hand-edited or from another host, must never make `fix` write to
/etc or anywhere else. An edit whose line already carries the new text counts as applied, so
planning twice is harmless.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from premortem.errors import PremortemError
from premortem.model import Edit, Finding
from premortem.siteconfig import SiteConfig

MAX_FILE_BYTES = 16 * 1024 * 1024


@dataclass
class LineChange:
    line: int
    before: str  # the whole line, without its end of line
    after: str
    already_applied: bool = False


@dataclass
class FilePlan:
    path: Path  # the real path written (inside a release)
    display: str  # as the finding names it, for diffs and messages
    before: bytes
    after: bytes
    changes: list[LineChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def sha256_before(self) -> str:
        return hashlib.sha256(self.before).hexdigest()

    @property
    def sha256_after(self) -> str:
        return hashlib.sha256(self.after).hexdigest()

    def diff(self) -> str:
        a = self.before.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        b = self.after.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        lines = difflib.unified_diff(a, b, fromfile=f"a/{self.display}", tofile=f"b/{self.display}")
        return "".join(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines
        )


@dataclass
class FixPlan:
    finding: Finding
    files: list[FilePlan]
    commands: list[str]

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.files)

    def diff(self) -> str:
        return "".join(f.diff() for f in self.files if f.changed)


def site_real_root(config: SiteConfig) -> Path:
    return Path(os.path.realpath(config.site_root))


def resolve_in_site(name: str, config: SiteConfig) -> Path:
    """The real path of `name` (relative to the docroot, or absolute); refuses outside paths."""
    root = site_real_root(config)
    candidate = Path(name) if os.path.isabs(name) else Path(config.docroot) / name
    real = Path(os.path.realpath(candidate))
    if real != root and root not in real.parents:
        raise PremortemError(
            f"refusing to touch {name}: it resolves to {real}, outside the site {root}"
        )
    try:
        st = real.stat()
    except FileNotFoundError:
        raise PremortemError(f"{name} ({real}) does not exist") from None
    except OSError as exc:
        raise PremortemError(f"cannot stat {name} ({real}): {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise PremortemError(f"{name} ({real}) is not a regular file")
    if st.st_size > MAX_FILE_BYTES:
        raise PremortemError(f"{name} is {st.st_size} bytes: too big to edit safely")
    return real


def _apply_edit(lines: list[str], edit: Edit, display: str) -> LineChange:
    if not 1 <= edit.line <= len(lines):
        raise PremortemError(f"{display}:{edit.line}: the file has only {len(lines)} lines")
    raw = lines[edit.line - 1]
    body = raw.rstrip("\r\n")
    ending = raw[len(body) :]
    if edit.old and edit.old in body:
        after = body.replace(edit.old, edit.new, 1)
        lines[edit.line - 1] = after + ending
        return LineChange(edit.line, body, after)
    if edit.new and edit.new in body:
        return LineChange(edit.line, body, body, already_applied=True)
    raise PremortemError(
        f"{display}:{edit.line} does not contain {edit.old!r} (it reads {body.strip()[:120]!r}): "
        "the file changed since the diagnosis; run diagnose again"
    )


def plan_fix(finding: Finding, config: SiteConfig) -> FixPlan:
    if finding.fix is None or not finding.fix.edits:
        raise PremortemError(f"finding {finding.rule} has no file edits")
    by_path: dict[Path, FilePlan] = {}
    working: dict[Path, list[str]] = {}
    for edit in finding.fix.edits:
        real = resolve_in_site(edit.file, config)
        if real not in by_path:
            try:
                data = real.read_bytes()
            except OSError as exc:
                raise PremortemError(f"cannot read {real}: {exc.strerror}") from None
            if b"\0" in data[:8192]:
                raise PremortemError(f"{edit.file} looks binary; refusing to edit it")
            by_path[real] = FilePlan(real, edit.file, data, data)
            working[real] = data.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        by_path[real].changes.append(_apply_edit(working[real], edit, edit.file))
    for real, plan in by_path.items():
        plan.after = "".join(working[real]).encode("utf-8", "surrogateescape")
    return FixPlan(finding, list(by_path.values()), list(finding.fix.commands))
