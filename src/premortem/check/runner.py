"""Run `premortem check` as a Python API: walk, parse, apply the rules, compare, count."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from premortem import registry
from premortem.check import answer
from premortem.check.context import CheckContext, CheckOptions
from premortem.model import SEVERITY_ORDER, Finding
from premortem.php.walk import Tree, walk_tree

if TYPE_CHECKING:
    from premortem.rules.base import Rule


@dataclass
class CheckResult:
    root: str
    findings: list[Finding] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    # The rules applied; None for all of them (imported when asked: an answered check
    # does not import the rules).
    applied: list[type[Rule]] | None = None

    @property
    def rules(self) -> list[type[Rule]]:
        return self.applied if self.applied is not None else registry.rules()

    def worst(self) -> str | None:
        if not self.findings:
            return None
        return max(self.findings, key=lambda f: SEVERITY_ORDER[f.severity]).severity


def _sort_key(finding: Finding) -> tuple[str, int, int, str]:
    return (finding.file or "", finding.line or 0, finding.column or 0, finding.rule)


def run_check(
    root: str | os.PathLike[str],
    options: CheckOptions | None = None,
    *,
    rules: list[type[Rule]] | None = None,
) -> CheckResult:
    """Check the release tree at `root`. Raises PremortemError if root is unusable."""
    with gc_paused():
        return _run_check(root, options or CheckOptions(), rules)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection for the duration (restored as it was afterwards).

    A check allocates tens of thousands of small objects that form no cycles (entries,
    facts, sites); the collector would scan them again and again for nothing, about a
    tenth of a cached run's time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run_check(
    root: str | os.PathLike[str], options: CheckOptions, rules: list[type[Rule]] | None
) -> CheckResult:
    started = time.perf_counter()
    walked_ns = time.time_ns()  # file times are wall-clock times: see answer.RACY_NS
    tree = walk_tree(os.fspath(root))
    answerable = answer.usable(options, rules is not None)
    if answerable:
        known = _answered(tree, options, started)
        if known is not None:
            return known
    # Imported here: an unchanged tree is answered without the parser and the rules.
    from premortem.php.parsing import parse_tree

    chosen = rules if rules is not None else registry.rules()
    parsed = parse_tree(
        tree,
        use_cache=options.use_cache,
        workers=options.workers,
        # PHP's own parser judges the syntax and spares tree-sitter most bytes.
        use_php=options.confirm_with_php,
    )
    # Saved now, before the rules add their sites: the pickling's own memory is not on top
    # of theirs (saved again below only if a rule completed some facts).
    parsed.save_cache()
    ctx = CheckContext(tree=tree, parsed=parsed, options=options)
    findings: list[Finding] = []
    for rule_class in chosen:
        rule = rule_class()
        if rule.needs == "server_config" and not options.server_configs:
            continue
        findings += [replace(f, docs_url=f.docs_url or rule.docs_url()) for f in rule.check(ctx)]
    findings.sort(key=_sort_key)
    _ = ctx.include_sites  # counted even when missing-include is not among the rules
    parsed.save_cache()
    stats: dict[str, Any] = {
        "files": sum(1 for e in tree.entries if e.kind == "file"),
        "directories": sum(1 for e in tree.entries if e.kind == "dir"),
        "php_files": len(parsed.files) + sum(len(v) for v in parsed.skipped.values()),
        "parsed": parsed.parsed,
        "from_cache": parsed.from_cache,
        "skipped": {reason: len(paths) for reason, paths in sorted(parsed.skipped.items())},
        "invalid_utf8": sum(1 for f in parsed.files if f.invalid_utf8),
        "includes": ctx.counters.get("includes", 0),
        "includes_resolved": ctx.counters.get("includes_resolved", 0),
        "includes_unresolved": ctx.counters.get("includes_unresolved", 0),
        "includes_missing": ctx.counters.get("includes_missing", 0),
        "includes_guarded": ctx.counters.get("includes_guarded", 0),
        "includes_optional": ctx.counters.get("includes_optional", 0),
        "syntax_flagged_by_php": ctx.counters.get("syntax_flagged_by_php", 0),
        "syntax_flagged_by_tree_sitter": ctx.counters.get("syntax_flagged_by_tree_sitter", 0),
        "syntax_cleared_by_php_lint": ctx.counters.get("syntax_cleared_by_php_lint", 0),
        "applications": [p.name for p, _ in ctx.resolver.profiles],
        "findings": {
            severity: sum(1 for f in findings if f.severity == severity)
            for severity in ("error", "warning", "info")
        },
        "seconds": round(time.perf_counter() - started, 3),
    }
    if answerable:
        answer.save(tree, options, ctx.include_sites, findings, stats, walked_ns)
    return CheckResult(root=tree.root, findings=findings, stats=stats, applied=chosen)


def _answered(tree: Tree, options: CheckOptions, started: float) -> CheckResult | None:
    """The result of the last check of this tree if nothing it depends on changed (see
    check.answer), with the counts of a run that parsed nothing."""
    known = answer.load(tree, options)
    if known is None:
        return None
    findings, stats = known
    skipped = sum(stats.get("skipped", {}).values())
    stats = {
        **stats,
        "parsed": 0,
        "from_cache": stats["php_files"] - skipped,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return CheckResult(root=tree.root, findings=findings, stats=stats)


def fingerprint(finding: Finding) -> tuple[str, str, str, str]:
    """Identity of a finding across releases: line numbers move, the line's text does not."""
    return (
        finding.rule,
        finding.file or "",
        " ".join((finding.source_line or "").split()),
        finding.message,
    )


def new_relative_to(result: CheckResult, baseline: CheckResult) -> list[Finding]:
    """Findings of `result` that `baseline` (the previous release) did not have."""
    old = {fingerprint(f) for f in baseline.findings}
    return [f for f in result.findings if fingerprint(f) not in old]
