"""The `blank-page` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import posixpath

from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.collectors.http import HttpEvidence, is_html
from premortem.model import Finding, Quote
from premortem.php.dirconst import DirUse, dir_constant_uses


class BlankPage(Analyzer):
    """
    ## What it does
    Fires when the page answers 2xx with an HTML (or no) content type but has lost its body:
    nothing at all, or no `<html`/`<!doctype html` in it. When the docroot's `wp-config.php`
    is a symlink (a deploy's `shared/wp-config.php`) and a line of it builds a path from
    `__DIR__` or `__FILE__`, it names that file:line: PHP resolves symlinks, so there they
    name `shared/`, not the release.

    ## Why it breaks sites
    Visitors get a white page while every status-based check (monitoring, load balancer
    health checks, a deploy's smoke test) sees 200 and calls the site up. WordPress answers
    200 with nothing when it finds no theme, e.g. with `WP_CONTENT_DIR` pointing at a
    directory that has only `uploads/`; PHP does the same after a fatal error when
    `display_errors` is off and nothing is logged.

    ## Example
    `shared/wp-config.php` line 20 `define('WP_CONTENT_DIR', __DIR__ . '/wp-content');`,
    linked into `releases/<name>/`: `GET / -> 200`, `Content-Type: text/html`, 0 bytes.

    ## Fix
    For the shared wp-config.php, build the path from `ABSPATH` (WordPress defines it as the
    release directory before it loads wp-config.php): `ABSPATH . 'wp-content'`, or ship
    wp-config.php in each release. Otherwise look at the PHP error log for the request, and
    check that the active theme exists under the content directory.
    """

    code = "blank-page"
    summary = "the page answers 200 but lost its body (empty, or no <html>)"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        http = evidence.http
        if http is None or http.body_problem is None:
            return []
        if http.content_type and not is_html(http.content_type):
            return []
        answer = _answer(http)
        use = _shared_wp_config_use(evidence)
        if use is None:
            return [
                Finding(
                    rule=self.code,
                    severity="error",
                    confidence=0.6,
                    message=(
                        f"{http.url} answered {answer}: PHP ended without printing the page "
                        "(no theme found, or a fatal error neither shown nor logged)"
                    ),
                    evidence=[Quote("http", f"GET {http.url} -> {answer}")],
                )
            ]
        return [
            Finding(
                rule=self.code,
                severity="error",
                confidence=0.9,
                message=(
                    f"{http.url} answered {answer}: wp-config.php is linked from "
                    f"{posixpath.dirname(use.file)} and line {use.line} builds a path from "
                    f"{use.constant}, which PHP resolves to that directory, not the release"
                ),
                file=use.file,
                line=use.line,
                source_line=use.text,
                suggestion="ABSPATH . 'wp-content'" if "wp-content" in use.text else None,
                evidence=[
                    Quote("http", f"GET {http.url} -> {answer}"),
                    Quote("config", f"{use.file}:{use.line}: {use.text}"),
                ],
            )
        ]


def _answer(http: HttpEvidence) -> str:
    kind = f" ({http.content_type})" if http.content_type else ""
    return f"{http.status}{kind} with {http.body_problem}"


def _shared_wp_config_use(evidence: EvidenceSet) -> DirUse | None:
    """The first `__DIR__`/`__FILE__` line of a wp-config.php linked into the docroot from
    another directory (as the file collector found it), or None."""
    shared = evidence.files.shared_wp_config if evidence.files is not None else None
    if shared is None:
        return None
    uses = dir_constant_uses(
        shared.text,
        shared.target,
        wordpress=shared.wordpress,
        sibling_is_shared=lambda name: name in shared.shared_siblings,
    )
    return uses[0] if uses else None
