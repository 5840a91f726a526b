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


def documentation() -> str:
    """Markdown for every analyzer, generated from the module docstrings (docs/diagnose.md)."""
    parts = []
    for module in all_analyzers():
        doc = (module.__doc__ or "").strip()
        title, _, body = doc.partition("\n")
        summary = title.split(":", 1)[-1].strip()
        parts.append(f"### `{module.RULE}`\n\n{summary[:1].upper()}{summary[1:]}\n")
        parts.extend(_sections(body))
    text = "\n".join(parts).rstrip() + "\n"
    # The docstrings are reStructuredText-ish: ``code`` and "::" before literal blocks.
    return text.replace("``", "`").replace("::\n", ":\n")


def _sections(body: str) -> list[str]:
    """'What it does:' etc. become bold headings; their indented text becomes paragraphs."""
    out: list[str] = []
    heading = ""
    lines: list[str] = []

    def flush() -> None:
        if heading:
            text = "\n".join(lines).strip("\n")
            out.append(f"**{heading}**\n\n{text}\n")

    for line in body.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            flush()
            heading, lines = line[:-1], []
        else:
            lines.append(line[4:] if line.startswith("    ") else line)
    flush()
    return out
