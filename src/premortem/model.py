"""The plain data that flows between collectors, rules/analyzers, renderers and remedies.

Everything here is a dataclass that turns into JSON with `to_dict()`; the JSON shape is the
contract in DESIGN.md (`rule`, `severity`, `confidence`, `message`, `file`, `line`, `fix`,
`suggestion`), which CI systems and the benchmarks read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "error": 2}


@dataclass(frozen=True)
class Edit:
    """Replace `old` by `new` on one line of one file (1-based line)."""

    file: str
    line: int
    old: str
    new: str


@dataclass(frozen=True)
class Fix:
    """A concrete remedy: source edits and/or shell commands, with a one-line description."""

    description: str
    edits: tuple[Edit, ...] = ()
    commands: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "edits": [asdict(e) for e in self.edits],
            "commands": list(self.commands),
        }


@dataclass(frozen=True)
class Quote:
    """One piece of evidence a finding quotes, with the source it comes from.

    Sources of diagnose: http, trace, log, config, changes, host (the ranking counts how many
    agree). Rules of check quote what they tried (`tried`) or what `php -l` said (`php -l`).
    In JSON a quote is the one string `"<source>: <text>"`.
    """

    source: str
    text: str

    def __str__(self) -> str:
        return f"{self.source}: {self.text}"

    @classmethod
    def parse(cls, value: str) -> Quote:
        """The quote a JSON string `"<source>: <text>"` stands for (fix --from reads them)."""
        source, sep, text = value.partition(": ")
        return cls(source, text) if sep else cls("", value)


@dataclass
class Finding:
    """One problem found by a rule (check) or an analyzer (diagnose)."""

    rule: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    confidence: float | None = None
    suggestion: str | None = None
    fix: Fix | None = None
    evidence: list[Quote] = field(default_factory=list)
    source_line: str | None = None
    # The problem class's documentation page (JSON `docs`, SARIF `helpUri`).
    docs_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "suggestion": self.suggestion,
            "fix": self.fix.to_dict() if self.fix else None,
        }
        if self.confidence is not None:
            data["confidence"] = round(self.confidence, 3)
        if self.evidence:
            data["evidence"] = self.quoted
        if self.docs_url:
            data["docs"] = self.docs_url
        return data

    @property
    def quoted(self) -> list[str]:
        """The evidence as the JSON shows it: one `"<source>: <text>"` string a quote."""
        return [str(quote) for quote in self.evidence]

    @property
    def sources(self) -> set[str]:
        """The evidence sources this finding quotes (more agreeing sources rank higher)."""
        return {quote.source for quote in self.evidence}

    def at_least(self, severity: Severity) -> bool:
        return SEVERITY_ORDER[self.severity] >= SEVERITY_ORDER[severity]
