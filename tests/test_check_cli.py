"""`premortem check` end to end: the seed, output formats, exit codes, cache, baseline,
bad input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from check_helpers import PROBLEMS, case_tree, make_seed_release, run_cli
from premortem.check.context import CheckOptions
from premortem.check.runner import run_check
from premortem.php import walk as walk_module
from premortem.php.parsing import CACHE_VERSION


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_seed_release(tmp_path_factory.mktemp("seed") / "wordpress")


@pytest.fixture
def cache_env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "cache")}


def test_seed_json_is_exactly_the_outage(seed: Path, cache_env: dict[str, str]) -> None:
    proc = run_cli("check", str(seed), "--format", "json", env=cache_env)
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    errors = [f for f in document["findings"] if f["severity"] == "error"]
    assert len(errors) == 1
    error = errors[0]
    assert error["rule"] == "missing-include"
    assert (error["file"], error["line"], error["column"]) == ("wp-settings.php", 156, 1)
    assert error["suggestion"] == "wp-includes/class-wp-locale.php"
    assert error["fix"]["edits"] == [
        {
            "file": "wp-settings.php",
            "line": 156,
            "old": "'/class-wp-locale.phpp'",
            "new": "'/class-wp-locale.php'",
        }
    ]
    stats = document["stats"]
    assert stats["applications"][0] == "wordpress"
    assert stats["includes_resolved"] > 1000
    assert stats["includes_missing"] == 1
    assert document["root"] == str(seed)


def test_seed_text_groups_by_file_with_caret(seed: Path, cache_env: dict[str, str]) -> None:
    proc = run_cli("check", str(seed), env=cache_env)
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    header = lines.index("wp-settings.php")
    block = "\n".join(lines[header : header + 8])
    assert "156:1" in block and "error" in block and "missing-include" in block
    assert "did you mean wp-includes/class-wp-locale.php?" in block
    source = next(line for line in lines if "156 | require_once" in line)
    caret = lines[lines.index(source) + 1]
    start = source.index("'/class-wp-locale.phpp'")
    assert caret[start:].startswith("^" * len("'/class-wp-locale.phpp'"))
    assert caret[:start].strip() == "|"
    assert lines[-1].startswith("1 error(s), 0 warning(s)")


def test_seed_sarif_for_github_code_scanning(seed: Path, cache_env: dict[str, str]) -> None:
    proc = run_cli("check", str(seed), "--format", "sarif", env=cache_env)
    assert proc.returncode == 1
    sarif = json.loads(proc.stdout)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids[:2] == ["missing-include", "php-syntax"]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert "## Why it breaks sites" in rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    errors = [r for r in run["results"] if r["level"] == "error"]
    assert len(errors) == 1
    result = errors[0]
    assert rule_ids[result["ruleIndex"]] == result["ruleId"] == "missing-include"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "wp-settings.php", "uriBaseId": "SRCROOT"}
    assert location["region"]["startLine"] == 156
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == seed.as_uri() + "/"
    assert len(result["partialFingerprints"]["premortemFindingHash/v1"]) == 32
    replacement = result["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == "'/class-wp-locale.php'"
    deleted = replacement["deletedRegion"]
    line = "require_once ABSPATH . WPINC . '/class-wp-locale.phpp';"
    assert line[deleted["startColumn"] - 1 : deleted["endColumn"] - 1] == "'/class-wp-locale.phpp'"
    for result in run["results"]:
        for loc in result.get("locations", []):
            assert loc["physicalLocation"]["region"]["startLine"] >= 1


def test_exit_codes_fail_on_and_output_file(tmp_path: Path, cache_env: dict[str, str]) -> None:
    clean = case_tree("exposed-source", "fp", "look-alikes")
    assert run_cli("check", str(clean), env=cache_env).returncode == 0
    warned = case_tree("exposed-source", "fire", "editor-backup")
    assert run_cli("check", str(warned), env=cache_env).returncode == 0
    assert run_cli("check", str(warned), "--fail-on", "warning", env=cache_env).returncode == 1
    out = tmp_path / "report.json"
    proc = run_cli("check", str(warned), "--format", "json", "-o", str(out), env=cache_env)
    assert proc.returncode == 0 and proc.stdout == ""
    assert json.loads(out.read_text())["findings"][0]["file"] == "wp-config.php~"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/site"], "no such file or directory"),
        (
            [str(case_tree("php-syntax", "fire", "unexpected-brace") / "greet.php")],
            "not a directory",
        ),
        ([str(PROBLEMS), "--define", "NOEQUALS"], "expected NAME=VALUE"),
        ([str(PROBLEMS), "--user", "no-such-user-here"], "no such user"),
    ],
)
def test_unusable_input_exits_2_without_traceback(args: list[str], message: str) -> None:
    proc = run_cli("check", *args)
    assert proc.returncode == 2
    assert message in " ".join(proc.stderr.split())  # the console wraps long lines
    assert "Traceback" not in proc.stderr


def test_bad_files_are_skipped_counted_and_the_run_goes_on(
    tmp_path: Path, cache_env: dict[str, str]
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.php").write_text("<?php\nrequire __DIR__ . '/missing.php';\n")
    (site / "blob.php").write_bytes(b"\x7fELF\x00\x00\x01binary")
    (site / "latin1.php").write_bytes(b"<?php\n// caf\xe9\necho 'ok';\n")
    (site / "huge.php").write_bytes(b"<?php\n" + b"//" + b"x" * (5 * 1024 * 1024) + b"\n")
    (site / "loop").symlink_to("loop")
    (site / "sub").mkdir()
    (site / "sub" / "back").symlink_to("..")
    os.mkdir(os.path.join(os.fsencode(site), b"caf\xe9-dir"))
    proc = run_cli("check", str(site), "--format", "json", env=cache_env)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    stats = document["stats"]
    assert stats["skipped"] == {"binary": 1, "larger than 5 MB": 1}
    assert stats["invalid_utf8"] == 1
    assert stats["php_files"] == 4
    assert "skipped 1 PHP file(s): larger than 5 MB" in proc.stderr
    rules = {(f["rule"], f["file"]) for f in document["findings"]}
    assert ("missing-include", "index.php") in rules
    assert ("broken-symlink", "loop") in rules
    assert ("broken-symlink", "sub/back") in rules


def test_unreadable_directory_is_recorded_and_walk_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root nothing is unreadable: make one directory fail to list, as EACCES would.
    site = tmp_path / "site"
    (site / "private").mkdir(parents=True)
    (site / "private" / "a.php").write_text("<?php\n")
    (site / "index.php").write_text("<?php\n")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("private"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(walk_module.os, "scandir", scandir)
    result = run_check(site, CheckOptions(use_cache=False))
    entries = {e.rel: e for e in walk_module.walk_tree(str(site)).entries}
    assert entries["private"].error == "Permission denied"
    assert result.stats["php_files"] == 1


def test_cache_makes_the_second_run_parse_nothing(
    tmp_path: Path, cache_env: dict[str, str]
) -> None:
    site = tmp_path / "site"
    shutil.copytree(case_tree("missing-include", "fp", "look-alikes"), site)
    first = json.loads(run_cli("check", str(site), "--format", "json", env=cache_env).stdout)
    assert first["stats"]["parsed"] == 2 and first["stats"]["from_cache"] == 0
    second = json.loads(run_cli("check", str(site), "--format", "json", env=cache_env).stdout)
    assert second["stats"]["parsed"] == 0 and second["stats"]["from_cache"] == 2
    assert second["findings"] == first["findings"]
    (site / "lib" / "helpers.php").write_text("<?php\n// changed\n")
    third = json.loads(run_cli("check", str(site), "--format", "json", env=cache_env).stdout)
    assert third["stats"]["parsed"] == 1 and third["stats"]["from_cache"] == 1
    no_cache = run_cli("check", str(site), "--format", "json", "--no-cache", env=cache_env)
    assert json.loads(no_cache.stdout)["stats"]["parsed"] == 2
    assert list((tmp_path / "cache" / "premortem" / "check").glob(f"v{CACHE_VERSION}-*.pickle"))


def test_a_new_release_starts_from_the_previous_one(
    tmp_path: Path, cache_env: dict[str, str]
) -> None:
    releases = tmp_path / "releases"
    shutil.copytree(case_tree("missing-include", "fp", "look-alikes"), releases / "1")
    shutil.copytree(releases / "1", releases / "2")
    (releases / "2" / "index.php").write_text("<?php\n// changed in release 2\n")
    first = json.loads(
        run_cli("check", str(releases / "1"), "--format", "json", env=cache_env).stdout
    )
    assert first["stats"]["parsed"] == 2
    second = json.loads(
        run_cli("check", str(releases / "2"), "--format", "json", env=cache_env).stdout
    )
    assert (second["stats"]["parsed"], second["stats"]["from_cache"]) == (1, 1)


def test_baseline_reports_only_new_findings(tmp_path: Path, cache_env: dict[str, str]) -> None:
    old = tmp_path / "releases" / "1"
    old.mkdir(parents=True)
    (old / "index.php").write_text("<?php\nrequire __DIR__ . '/legacy.php';\n")
    new = tmp_path / "releases" / "2"
    new.mkdir()
    # The old problem moved down a line; a new one appeared.
    (new / "index.php").write_text(
        "<?php\n// moved\nrequire __DIR__ . '/legacy.php';\nrequire __DIR__ . '/new.php';\n"
    )
    proc = run_cli("check", str(new), "--baseline", str(old), "--format", "json", env=cache_env)
    document = json.loads(proc.stdout)
    assert [(f["file"], f["line"]) for f in document["findings"]] == [("index.php", 4)]
    assert document["stats"]["baseline"]["not_new"] == 1
    assert proc.returncode == 1
    same = run_cli("check", str(old), "--baseline", str(old), env=cache_env)
    assert same.returncode == 0


def test_secrets_on_a_quoted_line_are_masked(tmp_path: Path, cache_env: dict[str, str]) -> None:
    site = tmp_path / "site"
    site.mkdir()
    # A wp-config.php with a syntax error on the line that holds the password.
    (site / "wp-config.php").write_text(
        "<?php\ndefine( 'DB_PASSWORD', 'hunter2-very-secret' ) )\n$x = 1;\n"
    )
    for output_format in ("text", "json", "sarif"):
        proc = run_cli("check", str(site), "--format", output_format, env=cache_env)
        assert proc.returncode == 1
        assert "hunter2-very-secret" not in proc.stdout + proc.stderr
    text = run_cli("check", str(site), env=cache_env).stdout
    assert "define( 'DB_PASSWORD', '[REDACTED]' ) )" in text


def test_sarif_names_no_rule_like_its_id() -> None:
    from premortem.model import Finding
    from premortem.render.sarif import RuleInfo, sarif_document

    # A one-word code, without a class name or missing from the rule list (SARIF1001).
    unknown = Finding(rule="internal", severity="error", message="m")
    document = sarif_document([unknown], [RuleInfo("unreadable", "s", "## What it does\nx")])
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["unreadable", "internal"]
    assert [r["name"] for r in rules] == ["UnreadableRule", "InternalRule"]


def test_an_error_is_one_line_with_the_path_as_written(tmp_path: Path) -> None:
    """A long path is not cut by the console's width (a log keeps it whole), and brackets
    in it are not taken for rich markup."""
    missing = tmp_path / "a[b]c" / ("x" * 150)
    proc = run_cli("check", str(missing))
    assert proc.returncode == 2
    assert proc.stderr == f"premortem: {missing}: no such file or directory\n"
