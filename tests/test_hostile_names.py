"""File names that are not UTF-8 in findings, suggestions and fixes.

A Latin-1 `caf\\xe9.php` used to be shown as `caf\ufffd.php` (as any other name with one
undecodable byte there), the same file's raw byte went to stdout in JSON and text (and
a UTF-8 locale that is not C made that a UnicodeEncodeError). Now every output shows such
bytes as `\\xNN`, and the fix still writes the real bytes.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from premortem.check.runner import CheckOptions, run_check
from premortem.ops.remedy import load_findings, plan_fix
from premortem.php.walk import display_path, printable
from premortem.siteconfig import SiteConfig

LATIN1 = b"caf\xe9.php"  # what a Latin-1 system calls café.php


def _at(base: Path, name: bytes) -> str:
    return os.fsdecode(os.path.join(os.fsencode(base), name))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("names") / "site"
    root.mkdir()
    Path(_at(root, LATIN1)).write_bytes(b"<?php\n")
    # The include names the file in UTF-8: the file is the Latin-1 one.
    (root / "index.php").write_text("<?php\ninclude __DIR__ . '/café.php';\n")
    Path(_at(root, b"x\xff.php")).write_bytes(b"<?php\nrequire __DIR__ . '/gone.php';\n")
    return root


def _config(site: Path) -> SiteConfig:
    return SiteConfig(
        url="http://127.0.0.1:9/",
        site_root=str(site),
        docroot=str(site),
        state_dir=str(site.parent / "state"),
    )


def premortem(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        capture_output=True,
        text=True,
        # A UTF-8 locale's stdout (strict), not the C locale's (surrogateescape).
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert "\ufffd" not in done.stdout
    return done


def test_text_shows_the_bytes_escaped(site: Path) -> None:
    done = premortem("check", str(site), "--no-cache")
    assert done.returncode == 1
    assert "include of missing file café.php; did you mean caf\\xe9.php?" in done.stdout
    assert "fix: include caf\\xe9.php instead of café.php" in done.stdout
    assert "- '/café.php'  + '/caf\\xe9.php'" in done.stdout
    assert "\nx\\xff.php\n" in done.stdout, "the file heading of the non-UTF-8 file"


def test_json_shows_them_escaped_and_carries_the_exact_bytes(site: Path) -> None:
    done = premortem("check", str(site), "--no-cache", "--format", "json")
    findings = json.loads(done.stdout)["findings"]
    by_file = {f["file"]: f for f in findings}
    assert set(by_file) == {"index.php", "x\\xff.php"}
    found = by_file["index.php"]
    assert found["suggestion"] == "caf\\xe9.php"
    edit = found["fix"]["edits"][0]
    assert edit["new"] == "'/caf\\xe9.php'"
    assert base64.b64decode(edit["new_base64"]) == b"'/" + LATIN1 + b"'"
    assert "old_base64" not in edit and "file_base64" not in edit, "UTF-8 text needs none"


def test_fix_from_the_saved_json_writes_the_real_name(site: Path, tmp_path: Path) -> None:
    saved = tmp_path / "check.json"
    saved.write_text(premortem("check", str(site), "--no-cache", "--format", "json").stdout)
    finding = next(f for f in load_findings(saved) if f.fix is not None)
    plan = plan_fix(finding, _config(site))
    [file_plan] = plan.files
    assert file_plan.after == b"<?php\ninclude __DIR__ . '/" + LATIN1 + b"';\n"


def test_fix_of_a_fresh_check_writes_the_real_name(site: Path) -> None:
    result = run_check(site, CheckOptions(use_cache=False))
    finding = next(f for f in result.findings if f.fix is not None)
    plan = plan_fix(finding, _config(site))
    assert plan.files[0].after == b"<?php\ninclude __DIR__ . '/" + LATIN1 + b"';\n"


def test_sarif_percent_encodes_the_uri_and_leaves_out_the_fix(site: Path) -> None:
    done = premortem("check", str(site), "--no-cache", "--format", "sarif")
    results = json.loads(done.stdout)["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in results}
    assert set(uris) == {"index.php", "x%FF.php"}
    index = uris["index.php"]
    assert index["message"]["text"].endswith("did you mean caf\\xe9.php?")
    assert "fixes" not in index, "a replacement text cannot carry the byte \\xe9"


def test_names_differing_only_in_bytes_that_are_not_utf8_display_apart() -> None:
    one, other = os.fsdecode(b"caf\xe9.php"), os.fsdecode(b"caf\xe8.php")
    assert display_path(one) == "caf\\xe9.php" and display_path(other) == "caf\\xe8.php"
    assert display_path("café.php") == "café.php", "UTF-8 names as they are"
    assert display_path("a\nb\x1b[2J.php") == "a\\x0ab\\x1b[2J.php", "no line break or escape"
    assert printable("caf\u00e9 \u2192 ok") == "caf\u00e9 \u2192 ok"


def test_fix_dry_run_diff_and_export_carry_the_real_bytes(site: Path, tmp_path: Path) -> None:
    """The diff and the exported script are the file's bytes: a patch or script that
    writes `\\xe9` as four characters would name another file."""
    saved = tmp_path / "check.json"
    saved.write_text(premortem("check", str(site), "--no-cache", "--format", "json").stdout)
    toml = tmp_path / "premortem.toml"
    toml.write_text(f'url = "http://127.0.0.1:9/"\nsite_root = "{site}"\ndocroot = "{site}"\n')
    fix = ["fix", "--config", str(toml), "--from", str(saved)]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    for extra in (["--dry-run"], ["--export", "shell"]):
        done = subprocess.run(
            [sys.executable, "-m", "premortem", *fix, *extra],
            capture_output=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert b"/" + LATIN1 + b"'" in done.stdout, done.stdout
    assert (site / "index.php").read_text() == "<?php\ninclude __DIR__ . '/café.php';\n"


def test_diagnose_json_escapes_names_and_keeps_the_exact_edit() -> None:
    from premortem.model import Edit, Finding, Fix
    from premortem.render.json import diagnosis_document

    name = os.fsdecode(b"/srv/www/caf\xe9.php")
    finding = Finding(
        rule="missing-file",
        severity="error",
        message=f"{name} is missing",
        file="index.php",
        line=2,
        fix=Fix("use it", edits=(Edit("index.php", 2, "'x.php'", f"'{name}'"),)),
    ).to_dict()
    data = {"root_cause": finding, "findings": [dict(finding)], "could_not_see": [name]}
    document = diagnosis_document(data)
    text = json.dumps(document, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogate left: any UTF-8 stdout takes it
    assert document["could_not_see"] == ["/srv/www/caf\\xe9.php"]
    edit = document["findings"][0]["fix"]["edits"][0]
    assert edit["new"] == "'/srv/www/caf\\xe9.php'"
    assert base64.b64decode(edit["new_base64"]) == b"'/srv/www/caf\xe9.php'"


def test_an_include_literal_that_is_not_utf8_keeps_its_bytes(tmp_path: Path) -> None:
    """The include names `caf\\xe9.php` in Latin-1 bytes inside the PHP source; the file on
    disk is `caf\\xe8.php`. The literal used to be decoded with U+FFFD: shown as `caf�`, no
    edit (its text was not the file's). Now it is shown escaped and fixed in place."""
    root = tmp_path / "site"
    root.mkdir()
    Path(_at(root, b"caf\xe8.php")).write_bytes(b"<?php\n")
    (root / "index.php").write_bytes(b"<?php\nrequire __DIR__ . '/caf\xe9.php';\n")
    done = premortem("check", str(root), "--no-cache")
    assert "require of missing file caf\\xe9.php; did you mean caf\\xe8.php?" in done.stdout
    assert "\ufffd" not in done.stdout
    result = run_check(root, CheckOptions(use_cache=False))
    finding = next(f for f in result.findings if f.fix is not None)
    plan = plan_fix(finding, _config(root))
    assert plan.files[0].after == b"<?php\nrequire __DIR__ . '/caf\xe8.php';\n"
