"""Read findings from a saved `premortem diagnose --format json` (or `check`) output."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError
from premortem.model import Edit, Finding, Fix, Quote


def _exact(edit: dict[str, Any], key: str) -> str:
    """An edit's `key` as the file holds it: `<key>_base64` (bytes that are not UTF-8,
    which the JSON shows as \\xNN) when the JSON has it, else the string."""
    encoded = edit.get(f"{key}_base64")
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True).decode("utf-8", "surrogateescape")
        except ValueError:
            raise PremortemError(f"the JSON's {key}_base64 is not base64: {encoded[:40]}") from None
    return str(edit[key])


def _fix_from_dict(data: Any) -> Fix | None:
    if not isinstance(data, dict):
        return None
    edits = tuple(
        Edit(
            file=_exact(e, "file"), line=int(e["line"]), old=_exact(e, "old"), new=_exact(e, "new")
        )
        for e in data.get("edits") or []
    )
    commands = tuple(str(c) for c in data.get("commands") or [])
    return Fix(description=str(data.get("description") or ""), edits=edits, commands=commands)


def finding_from_dict(data: dict[str, Any]) -> Finding:
    severity = data.get("severity", "error")
    if severity not in ("error", "warning", "info"):
        severity = "error"
    return Finding(
        rule=str(data.get("rule", "?")),
        severity=severity,
        message=str(data.get("message", "")),
        file=_typed(data.get("file"), str),
        line=_typed(data.get("line"), int),
        column=_typed(data.get("column"), int),
        confidence=_typed(data.get("confidence"), float | int),
        suggestion=_typed(data.get("suggestion"), str),
        fix=_fix_from_dict(data.get("fix")),
        evidence=[Quote.parse(str(q)) for q in data.get("evidence") or []],
    )


def _typed(value: Any, kind: Any) -> Any:
    """`value` when JSON gave it the type the model has (not true for a number), else None:
    a hand-edited `"line": "12"` must not reach the code that counts with it."""
    return value if isinstance(value, kind) and not isinstance(value, bool) else None


def _finding_dicts(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    if isinstance(data, dict):
        if isinstance(data.get("findings"), list):
            return _finding_dicts(data["findings"])
        for value in data.values():  # e.g. {"diagnosis": {"findings": [...]}}
            if isinstance(value, dict) and isinstance(value.get("findings"), list):
                return _finding_dicts(value["findings"])
    raise PremortemError("the JSON has no list of findings (expected diagnose --format json)")


def load_findings(path: Path) -> list[Finding]:
    try:
        return [finding_from_dict(d) for d in _finding_dicts(_read_json(path))]
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # "line": Infinity
        raise PremortemError(f"diagnosis file {path} has a malformed finding: {exc}") from None


def diagnosed_url(path: Path) -> str | None:
    """The URL a saved diagnosis was made for (its site, when there is no premortem.toml)."""
    data = _read_json(path)
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) and url else None


def _read_json(path: Path) -> Any:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PremortemError(f"diagnosis file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PremortemError(f"cannot read diagnosis file {path}: {exc}") from None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: "[" nested 100,000 deep
        raise PremortemError(f"diagnosis file {path} is not valid JSON: {exc}") from None


def choose_finding(findings: list[Finding], number: int | None) -> Finding:
    """Finding `number` (1-based, in the diagnosis's order), else the first with file edits."""
    if not findings:
        raise PremortemError("the diagnosis has no findings: nothing to fix")
    if number is not None:
        if not 1 <= number <= len(findings):
            raise PremortemError(f"--finding {number}: the diagnosis has {len(findings)} findings")
        chosen = findings[number - 1]
        if chosen.fix is None or not chosen.fix.edits:
            raise PremortemError(
                f"finding {number} ({chosen.rule}) has no file edits to apply"
                + (f"; suggested: {chosen.suggestion}" if chosen.suggestion else "")
            )
        return chosen
    for finding in findings:
        if finding.fix is not None and finding.fix.edits:
            return finding
    raise PremortemError("no finding in the diagnosis carries file edits that fix can apply")
