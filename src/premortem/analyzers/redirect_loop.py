"""The `redirect-loop` analyzer of `premortem diagnose` (documented on its class)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from premortem.analyzers._common import relative, site_root
from premortem.analyzers.base import Analyzer
from premortem.collectors import EvidenceSet
from premortem.collectors.files import htaccess_chain
from premortem.model import Finding, Fix, Quote

# %{VAR} server variables and $N / %N back-references in a substitution.
_TOKEN_RE = re.compile(r"%\{([A-Za-z_:]+)\}|[$%]\d")
_REDIRECT_DIRECTIVES = ("rewriterule", "redirect", "redirectmatch", "redirectpermanent")


@dataclass
class RedirectRule:
    file: str
    line: int
    directive: str
    args: list[str]
    per_directory: bool  # .htaccess: RewriteRule patterns see the path below its directory
    url_prefix: str = "/"  # the URL path of that directory

    @property
    def text(self) -> str:
        return " ".join([self.directive, *self.args])


class RedirectLoop(Analyzer):
    """
    ## What it does
    Follows redirects one by one and stops at the first URL already visited (or after ten
    redirects); quotes the chain. Then it looks for the rule that sends the loop's
    `Location`: every `RewriteRule` with an `R` flag and every `Redirect`/
    `RedirectMatch` in the `.htaccess` files on the request's path (from the docroot
    down) and in the server's configuration. A rule whose pattern matches the requested
    path and whose target, with `%{HTTP_HOST}`, `%{SERVER_NAME}`, `%{REQUEST_URI}` and
    back-references filled in, gives a URL of the loop is named with its file:line. When no
    rule gives it and the answer says `X-Redirect-By: WordPress`, it points at WordPress's
    `home`/`siteurl`.

    ## Why it breaks sites
    Browsers give up with "too many redirects"; a common cause is a "force HTTPS" rewrite
    rule whose target has the wrong scheme (it matches its own target), or WordPress's
    `siteurl`/`home` on https behind a proxy that talks http to the server.

    ## Example
    `.htaccess` line 4 `RewriteRule ^ http://%{HTTP_HOST}%{REQUEST_URI} [R=301,L]`
    (meant `https://`): `http://site/ -> http://site/ (301) -> ...`.

    ## Fix
    Correct the rule named by the finding (its target, or a `RewriteCond` that stops it
    matching its own target), or make `home`/`siteurl` match the scheme and host
    clients use (and set `$_SERVER['HTTPS']` from X-Forwarded-Proto behind a proxy).
    """

    code = "redirect-loop"
    summary = "the URL redirects back to itself (directly or in a cycle)"

    def analyze(self, evidence: EvidenceSet) -> list[Finding]:
        http = evidence.http
        if http is None or not http.redirect_loop:
            return []
        chain = " -> ".join([http.url, *(f"{loc} ({status})" for status, loc in http.redirects)])
        quotes = [Quote("http", chain)]
        requested = [http.url, *(loc for _status, loc in http.redirects[:-1])]
        targets = [loc for _status, loc in http.redirects]
        culprit: RedirectRule | None = None
        url = _split(http.url)
        for rule in candidate_rules(evidence, (url.path if url else "") or "/"):
            if any(
                produces(rule, source, target)
                for source, target in zip(requested, targets, strict=False)
            ):
                culprit = rule
                break
        by_wordpress = "wordpress" in http.headers.get("x-redirect-by", "").lower()
        if culprit is not None:
            where = relative(culprit.file, evidence)
            quotes.append(Quote("config", f"{where}:{culprit.line}: {culprit.text}"))
            return [
                Finding(
                    rule=self.code,
                    severity="error",
                    message=(
                        f"{http.url} redirects in a loop ({len(http.redirects)} redirects): "
                        f"{where} line {culprit.line} redirects to the URL it was asked for"
                    ),
                    file=where,
                    line=culprit.line,
                    confidence=0.97,
                    suggestion=culprit.text,
                    fix=Fix(
                        description=(
                            f"correct the rule at {where}:{culprit.line} (its target, or a "
                            "RewriteCond so it does not match its own target), or remove it"
                        )
                    ),
                    evidence=quotes,
                )
            ]
        if by_wordpress:
            quotes.append(Quote("http", "X-Redirect-By: WordPress"))
        return [
            Finding(
                rule=self.code,
                severity="error",
                message=f"{http.url} redirects in a loop ({len(http.redirects)} redirects)"
                + ("; WordPress sends the redirect" if by_wordpress else ""),
                confidence=0.9,
                fix=Fix(
                    description="make WordPress's home/siteurl (or the rewrite rule) match the "
                    "URL clients use"
                ),
                evidence=quotes,
            )
        ]


def candidate_rules(evidence: EvidenceSet, path: str) -> list[RedirectRule]:
    """Redirecting rules of the server config, then of each .htaccess on the path."""
    rules: list[RedirectRule] = []
    apache = evidence.server.apache if evidence.server else None
    if apache is not None:
        for found in apache.redirects:
            rules.append(RedirectRule(found.file, found.line, found.directive, found.args, False))
    root = site_root(evidence)
    texts = evidence.files.texts if evidence.files is not None else {}
    for htaccess, prefix in htaccess_chain(root, path) if root else []:
        rules.extend(_htaccess_rules(htaccess, texts.get(htaccess, []), prefix))
    return [r for r in rules if _redirects(r)]


def _htaccess_rules(path: str, lines: list[str], url_prefix: str) -> list[RedirectRule]:
    """The redirecting directives of one .htaccess file's lines (as the file collector read
    them)."""
    rules = []
    for number, raw in enumerate(lines, start=1):
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0].lower() in _REDIRECT_DIRECTIVES:
            rules.append(RedirectRule(path, number, words[0], words[1:], True, url_prefix))
    return rules


def _redirects(rule: RedirectRule) -> bool:
    name = rule.directive.lower()
    if name == "rewriterule":
        if len(rule.args) < 2:
            return False
        flags = rule.args[2].strip("[]").split(",") if len(rule.args) > 2 else []
        absolute = rule.args[1].startswith(("http://", "https://"))
        return absolute or any(f.strip().upper().startswith("R") for f in flags)
    return len(rule.args) >= 1


def produces(rule: RedirectRule, source: str, target: str) -> bool:
    """Could `rule`, applied to a request for `source`, redirect to `target`?"""
    url = _split(source)
    if url is None:
        return False
    path = url.path or "/"
    name = rule.directive.lower()
    args = rule.args
    if name == "rewriterule":
        pattern, substitution = args[0], args[1]
        subject = path
        if rule.per_directory:
            if not path.startswith(rule.url_prefix):
                return False
            subject = path[len(rule.url_prefix) :]
        if not _matches(pattern, subject):
            return False
    elif name == "redirectmatch":
        regex_args = [a for a in args if not _is_status(a)]
        if len(regex_args) < 2 or not _matches(regex_args[0], path):
            return False
        substitution = regex_args[1]
    else:  # Redirect [status] URL-path URL
        plain = [a for a in args if not _is_status(a)]
        if len(plain) < 2 or not (path == plain[0] or path.startswith(plain[0].rstrip("/") + "/")):
            return False
        substitution = plain[1].rstrip("/") + path[len(plain[0].rstrip("/")) :]
    expected = _target_pattern(substitution, url)
    return expected is not None and expected.fullmatch(target) is not None


def _split(url: str) -> SplitResult | None:
    """The parts of a URL; None for one urllib refuses (a Location "http://[x/", a port
    "http://h:x/"), which no rule produced from a request for it."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return None
    return parts


def _target_pattern(substitution: str, url: SplitResult) -> re.Pattern[str] | None:
    """A regex of the URLs the substitution can produce for a request of `url`."""
    values = {
        "HTTP_HOST": url.netloc,
        "SERVER_NAME": url.hostname or "",
        "REQUEST_URI": url.path or "/",
        "SERVER_PORT": str(url.port or (443 if url.scheme == "https" else 80)),
        "REQUEST_SCHEME": url.scheme,
    }
    out = ""
    position = 0
    for match in _TOKEN_RE.finditer(substitution):
        out += re.escape(substitution[position : match.start()])
        name = match.group(1)
        if name is None or name not in values:
            out += ".*"  # a back-reference or a variable we cannot know: anything
        else:
            out += re.escape(values[name])
        position = match.end()
    out += re.escape(substitution[position:])
    if substitution.startswith("/"):
        # A local path: Apache makes it absolute with the request's scheme and host.
        out = re.escape(f"{url.scheme}://{url.netloc}") + out
    try:
        # The query string is kept unless the rule says otherwise: ignore it here.
        return re.compile(out + r"(?:\?.*)?")
    except re.error:
        return None


def _matches(pattern: str, subject: str) -> bool:
    negated = pattern.startswith("!")
    try:
        found = re.search(pattern[1:] if negated else pattern, subject) is not None
    except re.error:
        return False
    return found != negated


def _is_status(word: str) -> bool:
    return word.isdigit() or word.lower() in ("permanent", "temp", "seeother", "gone")
