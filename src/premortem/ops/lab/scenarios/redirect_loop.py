"""The `redirect-loop` fault of the lab (documented on its class)."""

from __future__ import annotations

from premortem.ops.lab.scenarios._helpers import HtaccessLines
from premortem.ops.lab.scenarios.base import Expected

RULE = b"""# Force HTTPS
RewriteEngine On
RewriteCond %{HTTPS} off
RewriteRule ^ http://%{HTTP_HOST}%{REQUEST_URI} [R=301,L]

"""
LINE = 4


class RedirectLoop(HtaccessLines):
    """
    ## What it does
    The rule meant `https://%{HTTP_HOST}%{REQUEST_URI}` but says `http://`: every request
    answers 301 to the very same URL, and browsers give up with "too many redirects". (A
    wrong `siteurl` alone does not loop on WordPress 6.1's front page: it only rewrites
    links, measured on the lab.)

    ## Why it breaks sites
    GET / answers 301 on the apache lab; `premortem diagnose` names `redirect-loop` at
    `.htaccess` line 4.

    ## Example
    `premortem lab break redirect-loop --dir /srv/premortem-lab`, then `premortem diagnose
    http://127.0.0.1:8080/`; `premortem lab repair` undoes the fault byte for byte.

    ## Fix
    correct or remove the rule.
    """

    code = "redirect-loop"
    summary = f".htaccess line {LINE}: 'force HTTPS' rule redirects to http:// (itself): 301 loop"
    expected = Expected(diagnosis="redirect-loop", file=".htaccess", line=LINE)
    http_status = 301
    order = 41
    before = RULE
