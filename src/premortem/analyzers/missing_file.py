"""The `missing-file` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from premortem import php
from premortem.analyzers._common import relative, request_php_messages, site_root
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.errors import PremortemError
from premortem.model import Edit, Finding, Fix, Quote
from premortem.php.parsing import parse_tree
from premortem.php.walk import Tree, walk_tree
from premortem.textfile import line_of

_LOG_MISSING_RE = re.compile(
    r"Failed opening required '(?P<path>[^']+)'|"
    r"(?:require|include)(?:_once)?\((?P<path2>[^)]+)\): [Ff]ailed to open stream: No such file"
)


@dataclass
class SourceSite:
    file: str
    line: int
    source_line: str


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
    the exact edit.

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

        if evidence.trace is not None:
            for failed in evidence.trace.causes:
                call = failed.call
                if call.errno == "ENOENT" and call.opens_for_reading and call.path:
                    note(call.path)["quotes"].append(Quote("trace", call.text))
        # Older requests' errors never count: the replay shows whether it still happens.
        for message, quote in request_php_messages(evidence):
            match = _LOG_MISSING_RE.search(message.text)
            if match is None:
                continue
            path = match.group("path") or match.group("path2") or ""
            if message.severity == "Warning" and path in missing:
                continue
            entry = note(path)
            entry["quotes"].append(quote)
            if message.file and message.line and entry["site"] is None:
                entry["site"] = SourceSite(
                    message.file, message.line, line_of(message.file, message.line) or ""
                )
        findings = []
        for path, entry in missing.items():
            if os.path.exists(path):
                continue  # created since (or a race): nothing to fix any more
            site: SourceSite | None = entry["site"]
            suggestion = suggest_existing(Path(path))
            edit: Edit | None = None
            if site is None:
                site, edit = _locate_source(evidence, path, suggestion)
            elif suggestion is not None and os.path.basename(path) in site.source_line:
                edit = Edit(
                    relative(site.file, evidence),
                    site.line,
                    os.path.basename(path),
                    suggestion.name,
                )
            sources = {q.source for q in entry["quotes"]}
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
                suggestion_text = f"did you mean {relative(str(suggestion), evidence)}?"
                fix = Fix(
                    description=(
                        f"change {os.path.basename(path)} to {suggestion.name}"
                        + (f" in {relative(site.file, evidence)} line {site.line}" if site else "")
                    ),
                    edits=(edit,) if edit else (),
                )
            elif site:
                fix = Fix(
                    description=f"restore {relative(path, evidence)} or correct the include in "
                    f"{relative(site.file, evidence)} line {site.line}"
                )
            findings.append(
                Finding(
                    rule=self.code,
                    severity="error",
                    message=text,
                    file=relative(site.file, evidence) if site else relative(path, evidence),
                    line=site.line if site else None,
                    confidence=min(confidence, 0.99),
                    suggestion=suggestion_text,
                    fix=fix,
                    evidence=list(dict.fromkeys(entry["quotes"]))[:6],
                    source_line=site.source_line.strip() if site else None,
                )
            )
        return findings


def suggest_existing(missing: Path) -> Path | None:
    """A file the author most likely meant instead of `missing` (did-you-mean)."""
    result = php.suggest_existing(missing)
    return Path(result) if result is not None else None


def _locate_source(
    evidence: EvidenceSet, missing: str, suggestion: Path | None
) -> tuple[SourceSite | None, Edit | None]:
    """The include that builds `missing` (via the resolver), and the edit to the suggestion.

    Of several includes resolving to that path, the one in a file the traced request
    loaded is the one that ran.
    """
    root = site_root(evidence)
    if not root:
        return None, None
    traced = evidence.trace.loaded_files if evidence.trace else []
    # A path holding a NUL byte names no file (and realpath() raises ValueError on it).
    loaded = {os.path.realpath(p) for p in traced if "\0" not in p}
    try:
        sites = _includes_in_loaded_files(root, loaded, missing) if loaded else []
        if not sites:
            sites = list(php.find_includes_of(Path(root), Path(missing)))
    except PremortemError:  # the docroot is gone or unreadable: no line to point at
        return None, None
    if not sites:
        return None, None
    sites.sort(key=lambda site: os.path.realpath(site.file) not in loaded)
    chosen = sites[0]
    edit = None
    if suggestion is not None:
        edit = php.edit_for_suggestion(chosen, Path(missing), suggestion)
    source = SourceSite(str(chosen.file), int(chosen.line), str(chosen.source_line))
    return source, edit


def _includes_in_loaded_files(root: str, loaded: set[str], missing: str) -> list[php.IncludeSite]:
    """The resolver run over only the PHP files the traced request loaded.

    The include that failed ran in one of them, and the constants it uses were defined by
    them, so this finds the same statement as resolving the whole tree, in a fraction of the
    time (no full parse of a cold tree).
    """
    tree = walk_tree(root)
    subset = Tree(
        tree.root,
        tree.root_real,
        [e for e in tree.entries if not e.is_php or os.path.realpath(e.path) in loaded],
    )
    # No cache: a subset must not replace the cache `premortem check` keeps for the tree.
    parsed = parse_tree(subset, use_cache=False)
    wanted = os.path.realpath(missing)
    return [
        site
        for site in php.IncludeResolver(subset, parsed).sites()
        if any(os.path.realpath(c) == wanted for c in site.candidates)
    ]
