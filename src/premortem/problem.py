"""What every problem class is: a check rule, a diagnose analyzer or a lab fault scenario.

A problem class has a stable `code` (kebab-case, the `rule` of its findings), a one-line
`summary`, a default `severity`, and a docstring that is its documentation, in Markdown, in
four parts: `## What it does`, `## Why it breaks sites`, `## Example`, `## Fix` (the docs
pages are generated from it by `python -m premortem.docs`). Every class is listed once in
`premortem.registry`; `docs_url()` is where its page lives, which every finding carries.
"""

from __future__ import annotations

import inspect
import re
from typing import ClassVar

from premortem.model import Severity

DOCS_BASE_URL = "https://github.com/premortem/premortem/blob/main/docs"
DOC_SECTIONS = ("## What it does", "## Why it breaks sites", "## Example", "## Fix")
CODE_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class ProblemClass:
    """Base of rules, analyzers and scenarios: a code, a summary, a severity and the docs."""

    code: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = "error"
    # The docs folder of this kind of problem class (docs/<kind>/<code>.md).
    kind: ClassVar[str]

    @classmethod
    def doc(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def docs_url(cls) -> str:
        return f"{DOCS_BASE_URL}/{cls.kind}/{cls.code}.md"

    @classmethod
    def doc_problems(cls) -> list[str]:
        """What is wrong with the class's declaration or docs (empty when it is well formed)."""
        problems = []
        if not CODE_PATTERN.match(getattr(cls, "code", "")):
            problems.append(
                f"{cls.__name__}: code {getattr(cls, 'code', None)!r} is not kebab-case"
            )
        if not getattr(cls, "summary", ""):
            problems.append(f"{cls.__name__}: no summary")
        doc = cls.doc()
        positions = [doc.find(section) for section in DOC_SECTIONS]
        if min(positions) < 0 or positions != sorted(positions):
            problems.append(f"{cls.__name__}: docstring lacks {', '.join(DOC_SECTIONS)} in order")
        return problems
