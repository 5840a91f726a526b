"""http-error: the site fails and no other analyzer found why (documented on the class)."""

from __future__ import annotations

from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.model import Finding, Quote


class HttpError(Analyzer):
    """
    ## What it does
    The fallback of `premortem diagnose`: when the URL fails (an HTTP error status, or no
    answer at all) and no other analyzer reported an error that explains it, it reports the
    failure itself, with what the collectors could not see, so the user knows where to look
    next and that premortem did not find the cause.

    ## Why it breaks sites
    The site fails for a reason premortem has no analyzer for yet, or that it could not
    observe (no root to trace, unreadable logs, an application error page that logs nothing).

    ## Example
    `http: http://127.0.0.1:8080/ answered 503 Service Unavailable` from a plugin that
    answers 503 while in maintenance mode, with nothing in the error log.

    ## Fix
    Look at what the diagnosis could not see (run as root so strace can follow the request,
    pass `--config` so the logs are found), then at the application's own logs. Please
    report the case: every outage premortem cannot explain is a missing analyzer.
    """

    code = "http-error"
    summary = "the site fails and no analyzer found the cause"
    fallback = True

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        http = evidence.http
        if http is not None and http.healthy:
            return []
        what = (
            f"answered {http.status} {http.reason}"
            if http and http.answered
            else f"failed: {http.error}"
            if http
            else "could not be requested"
        )
        blind = "; ".join(evidence.could_not_see)
        return [
            Finding(
                rule=self.code,
                severity="error",
                message=f"the site {what}; no analyzer found the cause"
                + (f" (could not see: {blind})" if blind else ""),
                confidence=0.3,
                evidence=[Quote("http", f"{evidence.url} {what}")],
            )
        ]
