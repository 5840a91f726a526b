"""Scaffold a new problem class: its module, its fixtures, its registry line, its docs.

    python -m premortem.dev new analyzer php-session-dir --summary "PHP cannot write sessions"

writes `src/premortem/analyzers/php_session_dir.py` (a class with the four-part docstring to
fill in), `tests/fixtures/problems/php-session-dir/{fire,fp}/example/` (a case that must fire
and one that must not, in the format of tests/fixtures/problems/README.md), adds the class to
`premortem/registry.py` and regenerates the docs. The fire case fails until the class does
its job: the test suite says what is left to do. Scenarios get a module and a line in
`premortem/ops/lab/scenarios/__init__.py`, where the lab's scenarios are listed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from premortem.problem import CODE_PATTERN

REPOSITORY = Path(__file__).resolve().parents[3]
KINDS = ("rule", "analyzer", "scenario")


@dataclass(frozen=True)
class Names:
    code: str
    module: str
    cls: str
    summary: str

    @classmethod
    def of(cls, code: str, summary: str) -> Names:
        module = code.replace("-", "_")
        return cls(code, module, "".join(p.capitalize() for p in code.split("-")), summary)


DOC = '''    """
    ## What it does
    TODO: what {code} detects, and from which evidence.

    ## Why it breaks sites
    TODO: what users see when this happens.

    ## Example
    TODO: the smallest real case (a line of config, a log line, a syscall).

    ## Fix
    TODO: what the operator does about it.
    """'''

MODULE = '''"""{module_doc}"""

from __future__ import annotations

{imports}


class {cls}({base}):
{doc}

    code = "{code}"
    summary = "{summary}"
{declarations}
    def {method}:
        {body}
'''


@dataclass(frozen=True)
class Template:
    """What differs between a rule, an analyzer and a scenario module."""

    module_doc: str
    imports: str
    base: str
    method: str
    body: str
    declarations: str = ""


TEMPLATES = {
    "rule": Template(
        module_doc="{code}: {summary} (documented on the rule class).",
        imports="from collections.abc import Iterable\nfrom typing import TYPE_CHECKING\n\n"
        "from premortem.model import Finding\nfrom premortem.rules.base import Rule\n\n"
        "if TYPE_CHECKING:\n    from premortem.check.context import CheckContext",
        base="Rule",
        method="check(self, ctx: CheckContext) -> Iterable[Finding]",
        body="return []  # TODO: the findings of ctx.tree / ctx.parsed",
    ),
    "analyzer": Template(
        module_doc="The `{code}` analyzer of `premortem diagnose` (documented on its class).",
        imports="from premortem.analyzers.base import Analyzer\n"
        "from premortem.collectors import EvidenceSet\nfrom premortem.model import Finding",
        base="Analyzer",
        method="analyze(self, evidence: EvidenceSet) -> list[Finding]",
        body="return []  # TODO: a pure function of the evidence",
    ),
    "scenario": Template(
        module_doc="{code}: {summary}.",
        imports="from typing import TYPE_CHECKING\n\nfrom premortem.errors import PremortemError\n"
        "from premortem.ops.lab.scenarios.base import Expected, Scenario\n\n"
        "if TYPE_CHECKING:\n    from premortem.ops.lab.core import Lab\n"
        "    from premortem.ops.lab.journal import FaultJournal",
        base="Scenario",
        method="inject(self, lab: Lab, journal: FaultJournal) -> None",
        body='raise PremortemError("{code}: inject() is a TODO (change the lab via the journal)")',
        declarations='    expected = Expected(diagnosis="TODO-the-analyzer-code")\n'
        "    http_status = 500\n"
        '    servers = ("apache", "nginx")\n',
    ),
}
PACKAGES = {"rule": "rules", "analyzer": "analyzers", "scenario": "ops/lab/scenarios"}
# Where each kind is listed (file under src/premortem, function): scenarios beside the lab,
# which looks them up by name and so cannot import the registry.
REGISTRY_FUNCTIONS = {
    "rule": ("registry.py", "rules"),
    "analyzer": ("registry.py", "analyzers"),
    "scenario": ("ops/lab/scenarios/__init__.py", "scenario_classes"),
}


def write_module(root: Path, kind: str, names: Names) -> Path:
    path = root / "src" / "premortem" / PACKAGES[kind] / f"{names.module}.py"
    if path.exists():
        raise SystemExit(f"{path} exists already")
    template = TEMPLATES[kind]
    fields = {"code": names.code, "summary": names.summary}
    text = MODULE.format(
        module_doc=template.module_doc.format(**fields),
        imports=template.imports,
        cls=names.cls,
        base=template.base,
        doc=DOC.format(code=names.code),
        code=names.code,
        summary=names.summary,
        declarations=template.declarations,
        method=template.method,
        body=template.body.format(**fields),
    )
    path.write_text(text, encoding="utf-8")
    return path


def write_fixtures(root: Path, kind: str, names: Names) -> list[Path]:
    """A fire and an fp case (tests/fixtures/problems/README.md), for rules and analyzers."""
    if kind == "scenario":
        return []
    base = root / "tests" / "fixtures" / "problems" / names.code
    fire = {"rule": names.code, "file": "index.php", "line": 1, "severity": "error"}
    written = []
    for folder, expected in (("fire", [fire]), ("fp", [])):
        case = base / folder / "example"
        case.mkdir(parents=True)
        if kind == "rule":
            (case / "tree").mkdir()
            (case / "tree" / "index.php").write_text(f"<?php // TODO: a {folder} case\n")
        else:
            evidence = {"url": "http://127.0.0.1:8080/", "docroot": "@ROOT@"}
            (case / "evidence.json").write_text(json.dumps(evidence, indent=2) + "\n")
            fire["file"], fire["line"] = None, None
        (case / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
        written.append(case)
    return written


def register(root: Path, kind: str, names: Names) -> Path:
    """Add the module to the import and the class to the list of its registry function."""
    file, function = REGISTRY_FUNCTIONS[kind]
    path = root / "src" / "premortem" / file
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\ndef {function}(")
    end = text.find("\ndef ", start + 1)
    body = text[start : end if end != -1 else len(text)]
    imports = re.search(r"import \(  #[^\n]*\n((?:        \w+,\n)+)    \)", body)
    listing = re.search(r"\[\n((?:( +)[\w.]+,\n)+) *\]", body)
    if imports is None or listing is None:
        raise SystemExit(f"cannot find the import and the list of {function}() in {path}")
    modules = sorted({*imports.group(1).split(), f"{names.module},"})
    entries = listing.group(1).splitlines(keepends=True)
    # Fallbacks (http-error) stay last: a new class goes before them.
    fallback = [e for e in entries if "http_error." in e]
    entries = [e for e in entries if e not in fallback]
    entries += [f"{listing.group(2)}{names.module}.{names.cls},\n", *fallback]
    new_body = body.replace(imports.group(1), "".join(f"        {m}\n" for m in modules))
    new_body = new_body.replace(listing.group(1), "".join(entries))
    path.write_text(text.replace(body, new_body), encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m premortem.dev")
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="scaffold a new problem class")
    new.add_argument("kind", choices=KINDS)
    new.add_argument("code", help="kebab-case, e.g. php-session-dir")
    new.add_argument("--summary", default="TODO: one line saying what goes wrong")
    new.add_argument("--root", type=Path, default=REPOSITORY, help="the checkout to write in")
    args = parser.parse_args(argv)
    if not CODE_PATTERN.match(args.code):
        parser.error(f"{args.code!r} is not kebab-case (e.g. php-session-dir)")
    names = Names.of(args.code, args.summary.replace('"', "'"))
    root = args.root.resolve()
    written = [write_module(root, args.kind, names), *write_fixtures(root, args.kind, names)]
    written.append(register(root, args.kind, names))
    # The docs of the checkout written in (its src/ first on the path).
    docs = subprocess.run(
        [sys.executable, "-m", "premortem.docs", str(root / "docs")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(root / "src")},
    )
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    print("docs: " + ("regenerated" if docs.returncode == 0 else docs.stderr.strip()))
    print("next: fill in the TODOs, then `make test` (the fire case fails until it fires)")
    return 0 if docs.returncode == 0 else 1
