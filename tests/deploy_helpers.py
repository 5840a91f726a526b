"""Helpers shared by the deploy/rollback/fix tests: small site trees in the release layout."""

from __future__ import annotations

import os
from pathlib import Path

from premortem.siteconfig import SiteConfig


def make_site(root: Path, releases: list[str], current: str | None) -> Path:
    """<root>/releases/<name>/index.php for each name, shared/, current -> current."""
    (root / "releases").mkdir(parents=True)
    (root / "shared" / "wp-content" / "uploads").mkdir(parents=True)
    (root / "shared" / "wp-config.php").write_text("<?php define('DB_PASSWORD', 's3cret');\n")
    for name in releases:
        release = root / "releases" / name
        release.mkdir()
        (release / "index.php").write_text(f"<?php echo '{name}';\n")
    if current is not None:
        os.symlink(f"releases/{current}", root / "current")
    return root


def site_config(root: Path, url: str = "http://127.0.0.1:9/") -> SiteConfig:
    return SiteConfig(
        url=url,
        site_root=str(root),
        docroot=str(root / "current"),
        state_dir=str(root.parent / "state"),
    )
