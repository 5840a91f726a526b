"""redirect-loop: the URL redirects back to itself (directly or in a cycle).

What it does:
    Follows redirects one by one and stops at the first URL already visited (or after ten
    redirects); quotes the chain.

Why it breaks sites:
    Browsers give up with "too many redirects"; a common cause is WordPress's ``siteurl``/
    ``home`` on https behind a proxy that talks http to the server, or a rewrite rule that
    matches its own target.

Example:
    ``http://site/ -> https://site/ -> http://site/ -> ...``

Fix:
    Make ``home``/``siteurl`` match the scheme and host clients use (and set
    ``$_SERVER['HTTPS']`` from X-Forwarded-Proto behind a proxy), or fix the rewrite rule.
"""

from __future__ import annotations

from premortem.collectors import EvidenceSet
from premortem.model import Finding, Fix

RULE = "redirect-loop"


def analyze(evidence: EvidenceSet) -> list[Finding]:
    http = evidence.http
    if http is None or not http.redirect_loop:
        return []
    chain = " -> ".join([http.url, *(f"{loc} ({status})" for status, loc in http.redirects)])
    return [
        Finding(
            rule=RULE,
            severity="error",
            message=f"{http.url} redirects in a loop ({len(http.redirects)} redirects)",
            confidence=0.95,
            fix=Fix(
                description="make WordPress's home/siteurl (or the rewrite rule) match the "
                "URL clients use"
            ),
            evidence=[f"http: {chain}"],
        )
    ]
