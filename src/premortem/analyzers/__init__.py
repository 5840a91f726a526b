"""Analyzers: one module per problem class, each a pure function over the collected evidence.

Every module defines ``RULE`` (the finding's rule id), ``analyze(evidence) -> list[Finding]``
and documents itself in its docstring (What it does / Why it breaks sites / Example / Fix).
Evidence quotes in findings start with the source they come from (``http:``, ``trace:``,
``log:``, ``config:``, ``changes:``, ``host:``), which the ranking uses: a cause seen by
several sources ranks above one seen by a single source.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

from premortem.collectors import EvidenceSet
from premortem.model import Finding

Analyzer = Callable[[EvidenceSet], list[Finding]]


def all_analyzers() -> list[ModuleType]:
    """Every analyzer module of this package (anything with RULE and analyze)."""
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "RULE") and hasattr(module, "analyze"):
            modules.append(module)
    return modules


def sources_of(finding: Finding) -> set[str]:
    """The evidence sources a finding quotes (the part before the first colon)."""
    return {quote.split(":", 1)[0] for quote in finding.evidence if ":" in quote}
