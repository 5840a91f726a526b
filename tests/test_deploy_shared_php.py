"""Shared PHP files keep working through their link, or the deploy refuses (issue #11).

PHP resolves symlinks for __DIR__: in the shared wp-config.php linked into a release it names
shared/, and `define('WP_CONTENT_DIR', __DIR__ . '/wp-content')` served a blank site.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deploy_helpers import make_site, site_config
from premortem.errors import PremortemError
from premortem.ops.deploy import DeployOptions
from premortem.ops.deploy.pipeline import plan_deploy
from premortem.php.dirconst import dir_constant_uses

# The tail of WordPress's wp-config-sample.php (6.x).
SAMPLE_TAIL = """/** Absolute path to the WordPress directory. */
if ( ! defined( 'ABSPATH' ) ) {
\tdefine( 'ABSPATH', __DIR__ . '/' );
}

/** Sets up WordPress vars and included files. */
require_once ABSPATH . 'wp-settings.php';
"""
CONTENT_DIR = "define('WP_CONTENT_DIR', __DIR__ . '/wp-content');\n"


def _wordpress_site(tmp_path: Path, wp_config: str) -> tuple[Path, Path]:
    root = make_site(tmp_path / "site", ["20261126T000000Z"], "20261126T000000Z")
    (root / "shared" / "wp-config.php").write_text(wp_config)
    src = tmp_path / "src"
    (src / "wp-content" / "themes").mkdir(parents=True)
    (src / "wp-load.php").write_text("<?php define('ABSPATH', __DIR__ . '/');\n")
    (src / "index.php").write_text("<?php require __DIR__ . '/wp-load.php';\n")
    return root, src


def test_shared_wp_config_using_dir_for_wp_content_is_refused_with_file_line_and_fix(
    tmp_path: Path,
) -> None:
    root, src = _wordpress_site(tmp_path, "<?php\ndefine('DB_NAME', 'wp');\n" + CONTENT_DIR)
    with pytest.raises(PremortemError) as refused:
        plan_deploy(site_config(root), src, DeployOptions(check=False, stage=False))
    message = " ".join(str(refused.value).split())
    assert "shared/wp-config.php:3 uses __DIR__" in message
    assert f"so __DIR__ there names {root / 'shared'}, not the release" in message
    assert "ABSPATH . 'wp-content'" in message and "shared_paths" in message
    assert sorted(p.name for p in (root / "releases").iterdir()) == ["20261126T000000Z"]
    assert os.readlink(root / "current") == "releases/20261126T000000Z"


def test_wordpress_sample_config_and_siblings_in_shared_are_not_refused(tmp_path: Path) -> None:
    config = (
        "<?php\n// __DIR__ in a comment\nrequire __DIR__ . '/wp-config-local.php';\n" + SAMPLE_TAIL
    )
    root, src = _wordpress_site(tmp_path, config)
    (root / "shared" / "wp-config-local.php").write_text("<?php\n")
    plan = plan_deploy(site_config(root), src, DeployOptions(check=False, stage=False))
    assert plan.shared == ["wp-config.php", "wp-content/uploads"]


def test_sibling_in_the_release_and_abspath_outside_wordpress_are_found() -> None:
    text = "<?php\nrequire __DIR__ . '/vendor/autoload.php';\n" + SAMPLE_TAIL
    uses = dir_constant_uses(
        text, "shared/config.php", wordpress=False, sibling_is_shared=lambda _name: False
    )
    assert [(u.line, u.constant) for u in uses] == [(2, "__DIR__"), (5, "__DIR__")]
    wordpress = dir_constant_uses(
        "<?php\n$root = dirname(__FILE__);\n" + SAMPLE_TAIL,
        "shared/wp-config.php",
        wordpress=True,
        sibling_is_shared=lambda _name: True,
    )
    assert [(u.line, u.constant) for u in wordpress] == [(2, "__FILE__")]
