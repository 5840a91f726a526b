"""Property tests of the loaders of what users hand premortem as data: a site config
(siteconfig: premortem.toml) and a saved diagnosis (ops/remedy/findings: `fix --from`).

Any TOML table or JSON document is loaded or refused with a PremortemError; a valid config
or finding written and read back is the same.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from fuzzing import any_input, written
from premortem.errors import PremortemError
from premortem.model import Edit, Finding, Fix, Quote
from premortem.ops.remedy.findings import load_findings
from premortem.siteconfig import (
    SiteConfig,
    config_keys,
    default_of,
    read_site_config,
    site_config_from_dict,
    write_site_config,
)

_KEYS = [spec.name for spec in config_keys()]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from([*_KEYS, "lab", "x", "findings"]) | st.text(max_size=8),
            inner,
            max_size=6,
        )
    ),
    max_leaves=30,
)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


def _valid_value(name: str) -> st.SearchStrategy[Any]:
    default = next(default_of(spec) for spec in config_keys() if spec.name == name)
    if isinstance(default, bool):
        return st.booleans()
    if isinstance(default, int):
        return st.integers(0, 2**62)
    if isinstance(default, list):
        return st.lists(_TEXT, max_size=3)
    return _TEXT


@st.composite
def site_configs(draw: st.DrawFn) -> SiteConfig:
    """A config every key of which has a value of its type (state_dir: where tests keep state)."""
    chosen = draw(st.lists(st.sampled_from(_KEYS), unique=True))
    values = {name: draw(_valid_value(name)) for name in chosen}
    values.update(url="http://127.0.0.1:8080/", site_root="/srv/www/x", docroot="/srv/www/x")
    values["state_dir"] = ""
    return site_config_from_dict(values, "test")


@given(st.dictionaries(st.sampled_from([*_KEYS, "lab"]) | st.text(max_size=8), _JSON))
@example({"url": "u", "site_root": "r", "docroot": "d", "lab": {"db_port": True, "dir": 1}})
def test_site_config_from_any_table(data: dict[str, Any]) -> None:
    try:
        config = site_config_from_dict(data, "premortem.toml")
    except PremortemError:
        return
    assert isinstance(config.to_toml_dict(), dict)


@given(site_configs())
def test_site_config_round_trips(config: SiteConfig) -> None:
    with written({}) as base:
        write_site_config(config, base / "premortem.toml", header="# written by a test\n")
        assert read_site_config(base / "premortem.toml") == config


@given(any_input("findings", 3000) | _JSON.map(json.dumps))
@example(
    '{"findings": [{"fix": {"edits": [{"file": "a", "line": Infinity, "old": "", "new": ""}]}}]}'
)
@example("[" * 100_000 + "]" * 100_000)
@example('[{"line": "12", "file": 3, "confidence": "high", "evidence": [1]}]')
def test_load_findings_from_any_json(text: str) -> None:
    with written({"diagnosis.json": text}) as base:
        try:
            findings = load_findings(base / "diagnosis.json")
        except PremortemError:
            return
    for finding in findings:  # what fix --from then uses has the types the model says
        assert isinstance(finding.line, int | None) and not isinstance(finding.line, bool)
        assert isinstance(finding.file, str | None)
        assert isinstance(finding.confidence, float | int | None)
        for edit in finding.fix.edits if finding.fix else ():
            assert isinstance(edit.line, int)


_SOURCE = st.from_regex(r"\A[a-z]{1,8}\Z")


@st.composite
def findings(draw: st.DrawFn) -> Finding:
    edits = st.builds(Edit, _TEXT, st.integers(1, 10**6), _TEXT, _TEXT)
    fix = st.builds(
        Fix, _TEXT, st.lists(edits, max_size=2).map(tuple), st.lists(_TEXT, max_size=2).map(tuple)
    )
    return Finding(
        rule=draw(_SOURCE),
        severity=draw(st.sampled_from(("error", "warning", "info"))),
        message=draw(_TEXT),
        file=draw(st.none() | _TEXT),
        line=draw(st.none() | st.integers(1, 10**6)),
        column=draw(st.none() | st.integers(1, 1000)),
        confidence=draw(st.none() | st.sampled_from((0.25, 0.5, 0.9))),
        suggestion=draw(st.none() | _TEXT),
        fix=draw(st.none() | fix),
        evidence=draw(st.lists(st.builds(Quote, _SOURCE, _TEXT), max_size=3)),
    )


@given(st.lists(findings(), max_size=3))
def test_findings_round_trip(found: list[Finding]) -> None:
    document = {"url": "http://x/", "findings": [f.to_dict() for f in found]}
    with written({"diagnosis.json": json.dumps(document)}) as base:
        assert load_findings(Path(base / "diagnosis.json")) == found
