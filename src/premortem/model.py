"""The plain data that flows between collectors, rules/analyzers, renderers and remedies.

Everything here is a dataclass that turns into JSON with `to_dict()`; the JSON shape is the
contract in DESIGN.md (`rule`, `severity`, `confidence`, `message`, `file`, `line`, `fix`,
`suggestion`), which CI systems and the benchmarks read.
"""

from __future__ import annotations

import stat as stat_module
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


# File facts: what diagnose's file collector saw of the paths the evidence names, so that
# analyzers read no file themselves (they are pure functions of the evidence).


@dataclass(frozen=True)
class FileStat:
    """One path as stat()/lstat() saw it (through the host); never raised for.

    `exists` follows symlinks (a dangling link does not exist); `is_link` and `link_target`
    are the link itself (readlink). `error` is stat's strerror when it failed ("No such file
    or directory", "Permission denied"...).
    """

    path: str
    exists: bool = False
    kind: str = ""  # file | dir | other ("" when it does not exist)
    is_link: bool = False
    link_target: str = ""
    mode: int = 0
    uid: int = 0
    gid: int = 0
    owner: str = ""
    group: str = ""
    device: int = 0
    error: str = ""
    # lstat's mtime: of the link itself for a symlink (when a `current` link was switched).
    mtime: float = 0.0

    @property
    def lexists(self) -> bool:
        """The name exists (a dangling symlink too)."""
        return self.exists or self.is_link

    def describe(self) -> str:
        """`PATH is -rw------- root:root`, or `PATH: <why stat failed>`."""
        if not self.exists:
            return f"{self.path}: {self.error or 'no such file'}"
        return (
            f"{self.path} is {stat_module.filemode(self.mode & 0o177777)} {self.owner}:{self.group}"
        )


@dataclass(frozen=True)
class UserIdentity:
    """A user as the kernel checks permissions: uid and every group id."""

    name: str
    uid: int
    gids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SourceLine:
    """Line `line` of PHP file `file` as it reads now (for a message naming file:line)."""

    file: str
    line: int
    text: str


@dataclass(frozen=True)
class IncludeFacts:
    """A path PHP failed to open (ENOENT), with what php/ found about it: whether it exists
    now, the file most likely meant (did-you-mean), the include statement that builds it
    (file, line, source) and the edit of that line to the suggestion."""

    target: str
    exists: bool = False
    suggestion: str | None = None
    site: SourceLine | None = None
    expression: str = ""
    edit: Edit | None = None


@dataclass(frozen=True)
class WpDefine:
    value: str  # "[REDACTED]" for a secret (password, key, salt)
    line: int


@dataclass(frozen=True)
class WpConfigFacts:
    """A wp-config.php WordPress loads for the site, its define()s with secrets redacted."""

    path: str
    defines: dict[str, WpDefine] = field(default_factory=dict)


@dataclass(frozen=True)
class SharedWpConfig:
    """The site's wp-config.php is a symlink to a file outside the release (a deploy's
    shared/): its text, and the names beside it that exist there and not in the release."""

    link: str
    target: str
    text: str
    wordpress: bool
    shared_siblings: tuple[str, ...] = ()


@dataclass
class FileEvidence:
    """The file facts analyzers need, gathered by `collectors/files.py` through the host."""

    docroot_real: str = ""
    # Every path the evidence names (the docroot, traced and logged paths, their parent
    # directories, the database's run directories), by the path as named.
    paths: dict[str, FileStat] = field(default_factory=dict)
    # realpath() of the paths whose identity analyzers compare (logs, php-fpm configs).
    real_paths: dict[str, str] = field(default_factory=dict)
    # The web server's user as the kernel sees it (None: no such user on the host).
    web_user: UserIdentity | None = None
    # .htaccess files on the request's path and those the logs name: their lines (bounded).
    texts: dict[str, list[str]] = field(default_factory=dict)
    # Source lines PHP's messages name (file:line).
    source_lines: list[SourceLine] = field(default_factory=list)
    # Paths PHP could not open (ENOENT) with their include site and did-you-mean.
    missing: dict[str, IncludeFacts] = field(default_factory=dict)
    wp_configs: list[WpConfigFacts] = field(default_factory=list)
    shared_wp_config: SharedWpConfig | None = None

    def lookup(self, path: str) -> FileStat | None:
        """What was seen of `path` (None: not looked at)."""
        return self.paths.get(path)

    def real(self, path: str) -> str:
        return self.real_paths.get(path, path)

    def source_line(self, file: str, line: int) -> str | None:
        found = (s.text for s in self.source_lines if s.file == file and s.line == line)
        return next(found, None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
