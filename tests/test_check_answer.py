"""The answer cache (premortem.check.answer): an unchanged tree is answered without parsing,
resolving or applying a rule, and any change of what the answer was computed from (a
file, a mode, a file outside the tree an include names, the options) checks again."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from check_helpers import run_cli
from premortem.check.answer import RACY_NS
from premortem.check.context import CheckOptions
from premortem.check.runner import CheckResult, run_check
from premortem.php import includes, parsing


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cache").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _site(tmp_path: Path, outside: Path, *, age: bool = True) -> Path:
    """A tree with a missing include inside and one outside it, old enough to be answered
    (a tree changed within RACY_NS of a check is checked again next time)."""
    site = tmp_path / "work" / "site"
    (site / "lib").mkdir(parents=True)
    (site / "index.php").write_text(
        "<?php\nrequire __DIR__ . '/lib/helpers.php';\nrequire __DIR__ . '/lib/gone.php';\n"
        f"require '{outside}/vendor/lib.php';\n"
    )
    (site / "lib" / "helpers.php").write_text("<?php\nfunction helper() {}\n")
    if age:
        time.sleep(RACY_NS / 1e9 + 0.1)
    return site


def _errors(result: CheckResult) -> list[tuple[str | None, int | None]]:
    return [(f.file, f.line) for f in result.findings if f.severity == "error"]


def _forbid_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged tree was parsed or resolved again")

    monkeypatch.setattr(parsing, "parse_tree", refuse)
    monkeypatch.setattr(includes, "IncludeResolver", refuse)


def test_an_unchanged_tree_is_answered_without_parsing_or_resolving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _site(tmp_path, tmp_path / "work" / "outside")
    first = run_check(site, CheckOptions())
    assert _errors(first) == [("index.php", 3), ("index.php", 4)]
    assert first.stats["parsed"] == 2
    with monkeypatch.context() as patch:
        _forbid_work(patch)
        second = run_check(site, CheckOptions())
    assert second.findings == first.findings
    assert (second.stats["parsed"], second.stats["from_cache"]) == (0, 2)
    assert {
        k: v for k, v in second.stats.items() if k not in ("parsed", "from_cache", "seconds")
    } == {k: v for k, v in first.stats.items() if k not in ("parsed", "from_cache", "seconds")}
    assert [r.code for r in second.rules] == [r.code for r in first.rules]


@pytest.mark.parametrize(
    "change",
    ["edit a file", "create the missing file", "create the file outside", "chmod", "define"],
)
def test_any_change_it_was_computed_from_checks_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    outside = tmp_path / "work" / "outside"
    site = _site(tmp_path, outside)
    before = run_check(site, CheckOptions())
    options = CheckOptions()
    expected: list[tuple[str, int | None]] = [("index.php", 3), ("index.php", 4)]
    if change == "edit a file":
        (site / "index.php").write_text("<?php\nrequire __DIR__ . '/lib/helpers.php';\n")
        expected = []
    elif change == "create the missing file":
        (site / "lib" / "gone.php").write_text("<?php\n")
        expected = [("index.php", 4)]
    elif change == "create the file outside":
        # Nothing under the tree changed: only a directory the include names, outside it.
        (outside / "vendor").mkdir(parents=True)
        (outside / "vendor" / "lib.php").write_text("<?php\n")
        expected = [("index.php", 3)]
    elif change == "chmod":
        # Only the mode changes (its ctime with it): www-data (not the owner) cannot read.
        os.chmod(site / "lib" / "helpers.php", 0o600)
        expected = [("index.php", 3), ("index.php", 4), ("lib/helpers.php", None)]
    else:
        options = CheckOptions(defines={"UNUSED": "1"})
    after = run_check(site, options)
    assert _errors(after) == expected
    if change == "define":
        assert after.findings == before.findings
        assert after.stats["includes"] == before.stats["includes"]


def test_the_cli_answers_the_same_report_and_no_cache_checks(tmp_path: Path) -> None:
    site = _site(tmp_path, tmp_path / "work" / "outside")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first = run_cli("check", str(site), "--format", "json", env=env)
    second = run_cli("check", str(site), "--format", "json", env=env)
    assert first.returncode == second.returncode == 1
    one, two = json.loads(first.stdout), json.loads(second.stdout)
    assert two["findings"] == one["findings"]
    assert (two["stats"]["parsed"], two["stats"]["from_cache"]) == (0, 2)
    fresh = json.loads(
        run_cli("check", str(site), "--format", "json", "--no-cache", env=env).stdout
    )
    assert fresh["stats"]["parsed"] == 2
    assert fresh["findings"] == one["findings"]


def test_a_tree_changed_just_now_is_checked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within RACY_NS of a change, a second change could keep the file's times: no answer."""
    site = _site(tmp_path, tmp_path / "work" / "outside", age=False)
    first = run_check(site, CheckOptions())
    resolvers: list[object] = []
    real = includes.IncludeResolver

    def counting(*args: object, **kwargs: object) -> object:
        resolvers.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(includes, "IncludeResolver", counting)
    second = run_check(site, CheckOptions())
    assert len(resolvers) == 1
    assert second.findings == first.findings
