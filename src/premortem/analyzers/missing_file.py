"""The `missing-file` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import posixpath
from typing import Any

from premortem.analyzers._common import relative, request_php_messages
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.collectors.files import failed_loads, missing_path
from premortem.model import Edit, Finding, Fix, IncludeFacts, Quote, SourceLine


class MissingFile(Analyzer):
    """
    ## What it does
    Finds loads that failed with ENOENT: in the trace, a file opened for reading
    (`openat(..., O_RDONLY) = -1 ENOENT`) after PHP stat-ed the path, as opposed to
    `.htaccess` lookups, `access()` probes and DirectoryIndex stats, which fail on every
    healthy request; in the error log, PHP's `Failed opening required '...'` /
    `Failed to open stream: No such file or directory`. It then finds the source line that
    builds that path (the error log names it; from a trace alone, premortem's include resolver
    finds the include whose target is that path), a similarly named file that does exist, and
    the exact edit (all found by the file collector, through `php/`).

    ## Why it breaks sites
    `require`/`require_once` of a missing file is a fatal error: every request that goes
    through that line answers 500. With `log_errors` off nothing is logged, which is how
    the seed incident (`class-wp-locale.phpp`) lasted two days.

    ## Example
    wp-settings.php line 156:

        require_once ABSPATH . WPINC . '/class-wp-locale.phpp';

    ## Fix
    Point the include at the file that exists (`class-wp-locale.phpp` -> `class-wp-locale.php`),
    or restore the file the release forgot.
    """

    code = "missing-file"
    summary = "a PHP script or include the request needs does not exist"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        missing: dict[str, dict[str, Any]] = {}

        def note(path: str) -> dict[str, Any]:
            return missing.setdefault(path, {"quotes": [], "site": None})

        for target, call in failed_loads(evidence):
            note(target)["quotes"].append(Quote("trace", call))
        # Older requests' errors never count: the replay shows whether it still happens.
        for message, quote in request_php_messages(evidence):
            path = missing_path(message)
            if path is None:
                continue
            if message.severity == "Warning" and path in missing:
                continue
            entry = note(path)
            entry["quotes"].append(quote)
            if message.file and message.line and entry["site"] is None:
                text = _source_line(evidence, message.file, message.line)
                entry["site"] = SourceLine(message.file, message.line, text)
        findings = []
        for path, entry in missing.items():
            facts = _facts(evidence, path)
            if facts.exists:
                continue  # created since (or a race): nothing to fix any more
            findings.append(self._finding(evidence, path, entry["quotes"], entry["site"], facts))
        return findings

    def _finding(
        self,
        evidence: EvidenceSet,
        path: str,
        quotes: list[Quote],
        site: SourceLine | None,
        facts: IncludeFacts,
    ) -> Finding:
        suggestion = facts.suggestion
        name = posixpath.basename(path)
        edit: Edit | None = None
        if site is None:
            site, edit = facts.site, facts.edit
        elif suggestion is not None and name in site.text:
            edit = Edit(
                relative(site.file, evidence), site.line, name, posixpath.basename(suggestion)
            )
        sources = {q.source for q in quotes}
        confidence = 0.7 + 0.15 * (len(sources) - 1) + (0.1 if site else 0.0)
        text = f"{relative(path, evidence)} does not exist"
        if site:
            text = (
                f"{relative(site.file, evidence)} line {site.line} requires "
                f"{relative(path, evidence)}, which does not exist"
            )
        fix = None
        suggestion_text = None
        if suggestion is not None:
            suggestion_text = f"did you mean {relative(suggestion, evidence)}?"
            fix = Fix(
                description=(
                    f"change {name} to {posixpath.basename(suggestion)}"
                    + (f" in {relative(site.file, evidence)} line {site.line}" if site else "")
                ),
                edits=(edit,) if edit else (),
            )
        elif site:
            fix = Fix(
                description=f"restore {relative(path, evidence)} or correct the include in "
                f"{relative(site.file, evidence)} line {site.line}"
            )
        return Finding(
            rule=self.code,
            severity="error",
            message=text,
            file=relative(site.file, evidence) if site else relative(path, evidence),
            line=site.line if site else None,
            confidence=min(confidence, 0.99),
            suggestion=suggestion_text,
            fix=fix,
            evidence=list(dict.fromkeys(quotes))[:6],
            source_line=site.text.strip() if site else None,
        )


def _facts(evidence: EvidenceSet, path: str) -> IncludeFacts:
    """What the file collector found about `path` (not looked at: missing, no suggestion)."""
    found = evidence.files.missing.get(path) if evidence.files is not None else None
    return found if found is not None else IncludeFacts(path)


def _source_line(evidence: EvidenceSet, file: str, line: int) -> str:
    found = evidence.files.source_line(file, line) if evidence.files is not None else None
    return found or ""
