"""SARIF 2.1.0 output for GitHub code scanning (`github/codeql-action/upload-sarif`).

What GitHub needs and gets here: `version` 2.1.0 and `$schema`; one run whose
`tool.driver` lists the rules (id, name, short and full description, help text and
markdown, default level); each result with `ruleId`/`ruleIndex`, `level`, `message.text`,
one physical location with a URI relative to the checked root (`uriBaseId` SRCROOT) and a
region starting at line >= 1, and `partialFingerprints` that stay stable when lines move.
Known fixes are included as SARIF `fixes` (replacements of the exact characters).

Names that are not UTF-8 (Latin-1 `caf\xe9.php`): their bytes are percent-encoded in URIs
(`caf%E9.php`, what the URI of those bytes is) and shown as `\\xNN` in texts; a fix whose
text holds such bytes is left out (SARIF text cannot carry them, and its `\\xNN` form
would name another file).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from premortem import __version__
from premortem.model import Finding
from premortem.php.walk import printable
from premortem.problem import DOCS_BASE_URL
from premortem.redact import redact

PROJECT_URL = DOCS_BASE_URL.removesuffix("/blob/main/docs")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


@dataclass(frozen=True)
class RuleInfo:
    """What SARIF says about a rule: its id, a one-line summary and its documentation."""

    id: str
    summary: str
    help_markdown: str
    level: str = "error"
    # SARIF `name`: must differ from the id (SARIF1001); the rule class's name.
    name: str = ""
    help_uri: str | None = None


def _pascal(code: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]", code))


def _plain(markdown: str) -> str:
    return re.sub(r"^#+\s*", "", markdown, flags=re.MULTILINE).replace("```", "")


def _name(rule: RuleInfo) -> str:
    """The rule's SARIF name: never its id, not even told apart by case only (SARIF1001)."""
    name = rule.name or _pascal(rule.id)
    return f"{name}Rule" if name.lower() == rule.id.lower() else name


def _rule_descriptor(rule: RuleInfo) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": _name(rule),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _first_paragraph(rule.help_markdown)},
        "help": {"text": _plain(rule.help_markdown), "markdown": rule.help_markdown},
        "defaultConfiguration": {"level": LEVELS.get(rule.level, "warning")},
        "properties": {"tags": ["premortem", "reliability"]},
    }
    if rule.help_uri:
        descriptor["helpUri"] = rule.help_uri
    return descriptor


def _first_paragraph(markdown: str) -> str:
    """The first paragraph of the rule's documentation, without its heading."""
    for block in markdown.strip().split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        if lines:
            return " ".join(line.strip() for line in lines)
    return markdown.strip()


def _fingerprint(finding: Finding) -> str:
    # Line numbers move between releases; the rule, file, message and line text do not.
    key = "\0".join(
        [
            finding.rule,
            finding.file or "",
            finding.message,
            " ".join((finding.source_line or "").split()),
        ]
    )
    # surrogateescape: two names differing in bytes that are not UTF-8 differ here too.
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _artifact(file: str) -> dict[str, Any]:
    if file.startswith("/"):
        return {"uri": Path(file).as_uri()}
    if printable(file) != file:  # bytes that are not UTF-8: percent-encoded, all of them
        return {"uri": quote(os.fsencode(file), safe="/"), "uriBaseId": "SRCROOT"}
    return {"uri": file.replace("%", "%25").replace(" ", "%20"), "uriBaseId": "SRCROOT"}


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    text = redact(finding.message)
    if finding.suggestion and finding.suggestion not in text:
        text += f" (suggestion: {finding.suggestion})"
    text = printable(text)
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": rule_index[finding.rule],
        "level": LEVELS[finding.severity],
        "message": {"text": text},
        "partialFingerprints": {"premortemFindingHash/v1": _fingerprint(finding)},
    }
    if finding.file:
        region: dict[str, Any] = {"startLine": max(finding.line or 1, 1)}
        if finding.column:
            region["startColumn"] = finding.column
        if finding.source_line is not None:
            region["snippet"] = {"text": printable(redact(finding.source_line))}
        result["locations"] = [
            {"physicalLocation": {"artifactLocation": _artifact(finding.file), "region": region}}
        ]
    if finding.confidence is not None:
        result["rank"] = round(finding.confidence * 100, 1)
    if finding.fix is not None and finding.fix.edits and finding.source_line is not None:
        changes = []
        for edit in finding.fix.edits:
            column = finding.source_line.find(edit.old)
            if column < 0 or edit.line != finding.line or _not_utf8(edit.old, edit.new):
                continue
            changes.append(
                {
                    "artifactLocation": _artifact(edit.file),
                    "replacements": [
                        {
                            "deletedRegion": {
                                "startLine": edit.line,
                                "startColumn": column + 1,
                                "endColumn": column + 1 + len(edit.old),
                            },
                            "insertedContent": {"text": edit.new},
                        }
                    ],
                }
            )
        if changes:
            result["fixes"] = [
                {
                    "description": {"text": printable(finding.fix.description)},
                    "artifactChanges": changes,
                }
            ]
    return result


def _not_utf8(*texts: str) -> bool:
    return any(printable(text) != text for text in texts)


def sarif_document(
    findings: Sequence[Finding], rules: Sequence[RuleInfo], *, root: str | None = None
) -> dict[str, Any]:
    known = {rule.id for rule in rules}
    all_rules = list(rules) + [
        RuleInfo(code, code, code) for code in sorted({f.rule for f in findings} - known)
    ]
    rule_index = {rule.id: index for index, rule in enumerate(all_rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "premortem",
                "informationUri": PROJECT_URL,
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule_descriptor(rule) for rule in all_rules],
            }
        },
        "results": [_result(f, rule_index) for f in findings],
        "columnKind": "unicodeCodePoints",
    }
    if root is not None:
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": Path(root).as_uri() + "/"}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(
    findings: Sequence[Finding], rules: Sequence[RuleInfo], *, root: str | None = None
) -> str:
    return json.dumps(sarif_document(findings, rules, root=root), indent=2) + "\n"
