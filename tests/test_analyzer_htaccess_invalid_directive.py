"""htaccess-invalid-directive: modules named in the log (the typo: tests/fixtures/problems)."""

from __future__ import annotations

from pathlib import Path

from fixtures.diagnose.recorded import load_logs, load_scenario, with_files, write_lines
from premortem.analyzers.htaccess_invalid_directive import HtaccessInvalidDirective


def test_known_directive_of_a_missing_module_asks_for_the_module(tmp_path: Path) -> None:
    write_lines(tmp_path / ".htaccess", {3: "Header set X-Frame-Options DENY"})
    line = (
        "[Thu Nov 26 00:54:28.821443 2026] [core:alert] [pid 1:tid 1] [client 127.0.0.1:1] "
        f"{tmp_path}/.htaccess: Invalid command 'Header', perhaps misspelled or defined by a "
        "module not included in the server configuration"
    )
    evidence = load_scenario("htaccess", tmp_path, trace=False, logs=False)
    evidence.logs = load_logs(line)
    [finding] = HtaccessInvalidDirective().analyze(with_files(evidence))
    assert finding.line == 3
    assert finding.fix is not None and finding.fix.commands[0] == "a2enmod headers"


def test_loaded_module_is_not_blamed(tmp_path: Path) -> None:
    from premortem.collectors.server import ApacheSite, ServerEvidence

    write_lines(tmp_path / ".htaccess", {3: "Header set X-Frame-Options"})
    line = (
        "[Thu Nov 26 00:54:28.821443 2026] [core:alert] [pid 1:tid 1] [client 127.0.0.1:1] "
        f"{tmp_path}/.htaccess: Invalid command 'Header', perhaps misspelled or defined by a "
        "module not included in the server configuration"
    )
    evidence = load_scenario("htaccess", tmp_path, trace=False, logs=False)
    evidence.logs = load_logs(line)
    apache = ApacheSite(loaded_modules=["core_module", "headers_module"])
    evidence.server = ServerEvidence(port=80, apache=apache)
    [finding] = HtaccessInvalidDirective().analyze(with_files(evidence))
    assert finding.suggestion is not None and "mod_headers is loaded" in finding.suggestion
    apache.loaded_modules = ["core_module"]
    [finding] = HtaccessInvalidDirective().analyze(with_files(evidence))
    assert "config: apache2 -M does not list headers_module" in finding.quoted
