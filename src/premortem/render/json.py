"""JSON output: the stable contract of DESIGN.md (`--format json`).

{
  "tool": "premortem", "command": "check", "version": "0.1.0", "schema": 1,
  "root": "/srv/site/releases/20260101",
  "findings": [{"rule", "severity", "message", "file", "line", "column",
                "suggestion", "fix": {"description", "edits": [{file, line, old, new}],
                "commands"}, "confidence"?, "evidence"?}],
  "stats": {...}
}

JSON text is UTF-8: a file name that is not (Latin-1 `caf\xe9.php`) is shown with those
bytes as `\\xNN`, in every string. An edit holding such bytes also carries its exact
`file`, `old` or `new` as `file_base64`, `old_base64`, `new_base64` (the bytes, base64):
what `premortem fix --from` writes, so that the fix names the real file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from premortem import __version__
from premortem.model import Finding
from premortem.php.walk import printable
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
    document["findings"] = [
        _with_exact_edits(data) for data in Redactor().redact_data([f.to_dict() for f in findings])
    ]
    if stats is not None:
        document["stats"] = dict(stats)
    printed: dict[str, Any] = shown(document)
    return printed


EXACT_KEYS = ("file", "old", "new")


def _with_exact_edits(finding: dict[str, Any]) -> dict[str, Any]:
    """`finding` with `<key>_base64` beside each edit's file, old or new that holds bytes
    that are not UTF-8 (its printed form, `\\xNN`, would name another file)."""
    fix = finding.get("fix")
    for edit in fix.get("edits", []) if isinstance(fix, dict) else []:
        for key in EXACT_KEYS:
            value = edit.get(key)
            if isinstance(value, str) and printable(value) != value:
                exact = value.encode("utf-8", "surrogateescape")
                edit[f"{key}_base64"] = base64.b64encode(exact).decode("ascii")
    return finding


def diagnosis_document(data: dict[str, Any]) -> dict[str, Any]:
    """A diagnosis's JSON (`Diagnosis.to_dict()`, redacted) made printable the same way:
    exact bytes beside its findings' edits, every string printable."""
    for key in ("root_cause", "findings"):
        value = data.get(key)
        for finding in value if isinstance(value, list) else [value] if value else []:
            _with_exact_edits(finding)
    printed: dict[str, Any] = shown(data)
    return printed


def shown(data: Any) -> Any:
    """`data` with every string printable (bytes that are not UTF-8 as `\\xNN`)."""
    if isinstance(data, str):
        return printable(data)
    if isinstance(data, dict):
        return {shown(key): shown(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [shown(item) for item in data]
    return data


def render_json(
    findings: Sequence[Finding],
    *,
    command: str,
    root: str | None = None,
    stats: Mapping[str, Any] | None = None,
) -> str:
    document = findings_document(findings, command=command, root=root, stats=stats)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
