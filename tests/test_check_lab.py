"""`premortem check` against the real lab's live release: each fault that a static check
can see is found, at the right place, and nothing else is new (the healthy release is the
baseline, as `--baseline` uses the previous release)."""

from __future__ import annotations

from pathlib import Path

import pytest

from premortem.check.context import CheckOptions
from premortem.check.runner import CheckResult, new_relative_to, run_check
from premortem.ops.lab.core import Lab

pytestmark = pytest.mark.lab


def _check(release: Path) -> CheckResult:
    # The cache (under a test-owned XDG_CACHE_HOME) keeps the unchanged files from being
    # parsed three times per scenario.
    return run_check(release, CheckOptions(use_cache=True))


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "check-cache"))


# scenario -> (rule, file, line or None, suggestion or None) of the first new error
STATIC_FAULTS: dict[str, tuple[str, str, int | None, str | None]] = {
    "seed": ("missing-include", "wp-settings.php", 156, "wp-includes/class-wp-locale.php"),
    "include-typo-name": (
        "missing-include",
        "wp-settings.php",
        157,
        "wp-includes/class-wp-locale-switcher.php",
    ),
    "include-case": (
        "missing-include",
        "wp-settings.php",
        155,
        "wp-includes/class-wp-textdomain-registry.php",
    ),
    # Two statements require the deleted file: load.php (in a function) and wp-settings.php.
    "include-deleted": ("missing-include", "wp-includes/load.php", 1348, None),
    "syntax": ("php-syntax", "wp-content/themes/twentytwentyone/functions.php", 346, None),
    "permission": ("unreadable", "wp-includes/formatting.php", None, None),
    "untraversable-dir": ("unreadable", "wp-includes/rest-api", None, None),
}


@pytest.mark.parametrize("scenario", sorted(STATIC_FAULTS))
def test_check_finds_the_lab_fault(healthy_lab: Lab, scenario: str) -> None:
    release = healthy_lab.release_dir
    baseline = _check(release)
    healthy_lab.break_scenario(scenario)
    try:
        broken = _check(release)
    finally:
        healthy_lab.repair()
    new = [f for f in new_relative_to(broken, baseline) if f.severity == "error"]
    rule, file, line, suggestion = STATIC_FAULTS[scenario]
    expected = [(rule, file, line)]
    if scenario == "include-deleted":
        expected.append(("missing-include", "wp-settings.php", 157))
    assert [(f.rule, f.file, f.line) for f in new] == expected
    assert new[0].suggestion == suggestion
    if suggestion is not None:
        assert new[0].fix is not None and new[0].fix.edits[0].line == line
    # Repaired: the release is back to the baseline.
    assert new_relative_to(_check(release), baseline) == []


def test_check_finds_the_misspelt_htaccess_directive(healthy_lab: Lab) -> None:
    """With the lab's own Apache config, the `htaccess` scenario's typo is found."""
    from premortem.ops.lab.scenarios.htaccess import BAD_LINE, LINE

    release = healthy_lab.release_dir
    options = CheckOptions(use_cache=True, server_configs=[str(healthy_lab.paths.httpd_conf)])
    baseline = run_check(release, options)
    assert [f for f in baseline.findings if f.rule == "server-config"] == []
    healthy_lab.break_scenario("htaccess")
    try:
        broken = run_check(release, options)
    finally:
        healthy_lab.repair()
    new = new_relative_to(broken, baseline)
    assert [(f.rule, f.file, f.line, f.suggestion) for f in new] == [
        ("server-config", ".htaccess", LINE, "RewriteEngine")
    ]
    assert new[0].fix is not None
    assert new[0].fix.edits[0].old == BAD_LINE.split()[0]
