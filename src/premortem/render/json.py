"""JSON output: the stable contract of DESIGN.md (`--format json`).

{
  "tool": "premortem", "command": "check", "version": "0.1.0", "schema": 1,
  "root": "/srv/site/releases/20260101",
  "findings": [{"rule", "severity", "message", "file", "line", "column",
                "suggestion", "fix": {"description", "edits": [{file, line, old, new}],
                "commands"}, "confidence"?, "evidence"?}],
  "stats": {...}
}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from premortem import __version__
from premortem.model import Finding
from premortem.redact import Redactor

SCHEMA_VERSION = 1


def findings_document(
    findings: Sequence[Finding],
    *,
    command: str,
    root: str | None = None,
    stats: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "tool": "premortem",
        "command": command,
        "version": __version__,
        "schema": SCHEMA_VERSION,
    }
    if root is not None:
        document["root"] = root
    # Secrets (wp-config.php keys and passwords quoted in a message) never reach output.
    document["findings"] = Redactor().redact_data([f.to_dict() for f in findings])
    if stats is not None:
        document["stats"] = dict(stats)
    return document


def render_json(
    findings: Sequence[Finding],
    *,
    command: str,
    root: str | None = None,
    stats: Mapping[str, Any] | None = None,
) -> str:
    document = findings_document(findings, command=command, root=root, stats=stats)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
