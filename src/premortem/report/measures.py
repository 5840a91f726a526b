"""Corrective and preventative measures, suggested from the rule of the root cause.

Suggestions are a starting point: people add their own with `premortem note ID --measure
TEXT`, and the Markdown report is meant to be edited before it is published.
"""

from __future__ import annotations

CHECK_IN_CI = """\
# .github/workflows/premortem.yml
name: premortem
on: [push, pull_request]
jobs:
  check:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      security-events: write   # upload-sarif needs it
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: sudo apt-get install -y php-cli   # PHP's parser judges the syntax
      # premortem is not on PyPI: install it from its repository (replace OWNER).
      - run: pip install "premortem @ git+https://github.com/OWNER/premortem"
      - name: premortem check
        # Exit 1 on errors fails the job, after the report is written.
        run: premortem check . --format sarif -o premortem.sarif
      - uses: github/codeql-action/upload-sarif@v3
        if: always()
        with:
          sarif_file: premortem.sarif
          category: premortem
"""

DEPLOY_WITH_GATE = (
    "Deploy with `premortem deploy`: the release is checked and smoke-tested on a side "
    "port before `current` is switched, and rolled back automatically if production fails "
    "its verification."
)
WATCH = (
    "Keep `premortem watch --webhook URL` running so that an outage opens an incident and "
    "notifies someone within seconds, not when customers complain."
)

_BY_RULE: dict[str, list[str]] = {
    "missing-file": [
        "Run `premortem check` in CI on every change: it resolves every include/require and "
        "fails the build on a missing target, with a did-you-mean (job below).",
        DEPLOY_WITH_GATE,
    ],
    "php-fatal": [
        "Run `premortem check` (PHP syntax and includes) in CI, and keep the PHP extensions "
        "the code needs in the server's provisioning (Puppet/Ansible), not set by hand.",
        DEPLOY_WITH_GATE,
    ],
    "permission-denied": [
        "Set ownership and modes in the deploy itself (the release is copied with the web "
        "user's read access) and let `premortem check` flag unreadable files before switch.",
        DEPLOY_WITH_GATE,
    ],
    "database-connection": [
        "Monitor the database itself (service and connection count) and alert before the "
        "site fails; keep DB credentials in the shared config managed by provisioning.",
    ],
    "htaccess-invalid-directive": [
        "Test configuration changes on the staging port that `premortem deploy` starts, and "
        "keep .htaccess under version control with the release.",
        DEPLOY_WITH_GATE,
    ],
    "server-down": [
        "Have the service manager restart the web server (systemd Restart=on-failure) and "
        "probe it from outside the host.",
    ],
    "disk-full": [
        "Alert on disk usage (e.g. above 85%) and rotate/compress logs with logrotate.",
    ],
    "too-many-open-files": [
        "Raise the web server's open-file limit (LimitNOFILE) and alert on descriptor use.",
    ],
    "docroot-missing": [
        "Switch releases only through an atomic symlink (`premortem deploy`), never by "
        "moving directories by hand.",
        DEPLOY_WITH_GATE,
    ],
    "php-not-executed": [
        "Smoke-test that PHP pages are executed (not served as source) before switching: "
        "`premortem deploy` does it on the staging port.",
        DEPLOY_WITH_GATE,
    ],
    "redirect-loop": [
        "Keep siteurl/home in configuration management and smoke-test the front page with "
        "redirects followed before switching.",
    ],
}

_CI_RULES = {"missing-file", "php-fatal", "permission-denied"}


def suggested_measures(rule: str | None) -> list[str]:
    """Measures for the root cause's rule, then the ones every incident deserves."""
    measures = list(_BY_RULE.get(rule or "", []))
    if DEPLOY_WITH_GATE not in measures:
        measures.append(DEPLOY_WITH_GATE)
    measures.append(WATCH)
    return measures


def ci_job(rule: str | None) -> str | None:
    """A ready GitHub Actions job when the root cause is one `premortem check` catches."""
    return CHECK_IN_CI if rule in _CI_RULES else None
