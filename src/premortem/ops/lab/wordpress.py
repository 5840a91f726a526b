"""The lab's WordPress site, laid out the way `deploy` manages releases.

A release is a self-contained copy of Debian's /usr/share/wordpress (its symlinks into
/usr/share/javascript, /etc/wordpress... dereferenced), whose wp-config.php and
wp-content/uploads are links into shared/. Debian's own wp-config.php (which reads
/etc/wordpress/config-<host>.php) is replaced by a real one for the lab's MariaDB.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.mariadb import DB_NAME, DB_USER

WORDPRESS_SOURCE = Path("/usr/share/wordpress")
SALT_NAMES = (
    "AUTH_KEY",
    "SECURE_AUTH_KEY",
    "LOGGED_IN_KEY",
    "NONCE_KEY",
    "AUTH_SALT",
    "SECURE_AUTH_SALT",
    "LOGGED_IN_SALT",
    "NONCE_SALT",
)
# WordPress's standard rewrite block, as WordPress writes it for pretty permalinks.
HTACCESS = """# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteRule .* - [E=HTTP_AUTHORIZATION:%{HTTP:Authorization}]
RewriteBase /
RewriteRule ^index\\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /index.php [L]
</IfModule>
# END WordPress
"""


def release_name() -> str:
    """A release directory name: the UTC time, sortable (as Capistrano names them)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def render_wp_config(db_port: int, db_password: str, db_host: str = "127.0.0.1") -> str:
    salts = "\n".join(f"define('{name}', '{secrets.token_urlsafe(48)}');" for name in SALT_NAMES)
    return f"""<?php
/* Written by `premortem lab up`: the lab's own database; nothing is read from /etc. */
define('DB_NAME', '{DB_NAME}');
define('DB_USER', '{DB_USER}');
define('DB_PASSWORD', '{db_password}');
define('DB_HOST', '{db_host}:{db_port}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');

{salts}

$table_prefix = 'wp_';

define('WP_DEBUG', false);
define('AUTOMATIC_UPDATER_DISABLED', true);
/* No loopback cron requests: the access log holds only the traffic the lab is sent. */
define('DISABLE_WP_CRON', true);

/* wp-load.php defines ABSPATH as the release directory before it includes this file. */
if (!defined('ABSPATH')) {{
    define('ABSPATH', __DIR__ . '/');
}}
require_once ABSPATH . 'wp-settings.php';
"""


def write_shared(
    paths: LabPaths, db_port: int, db_password: str, db_host: str = "127.0.0.1"
) -> None:
    """shared/wp-config.php (root:www-data 0640) and shared/wp-content/uploads (www-data)."""
    paths.shared_uploads.mkdir(parents=True, exist_ok=True)
    shutil.chown(paths.shared_uploads, "www-data", "www-data")
    tmp = paths.shared_wp_config.with_name(".wp-config.php.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w") as out:
        out.write(render_wp_config(db_port, db_password, db_host))
    shutil.chown(tmp, "root", "www-data")
    os.chmod(tmp, 0o640)
    os.replace(tmp, paths.shared_wp_config)


def create_release(paths: LabPaths, name: str) -> Path:
    """Copy WordPress into releases/<name>/ and link the shared files into it."""
    if not (WORDPRESS_SOURCE / "wp-settings.php").is_file():
        raise PremortemError(
            f"WordPress is not installed at {WORDPRESS_SOURCE} (package wordpress)"
        )
    release = paths.releases / name
    paths.releases.mkdir(parents=True, exist_ok=True)
    staging = paths.releases / f".{name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(
        WORDPRESS_SOURCE,
        staging,
        # Dereference Debian's links (into /usr/share/javascript, /usr/share/php...) so the
        # release stands alone. Not ignore_dangling_symlinks: CPython checks a relative
        # target against the cwd, not the link's dir, and silently dropped wp-includes/ID3.
        symlinks=False,
        ignore=shutil.ignore_patterns("wp-config.php"),
    )
    (staging / ".htaccess").unlink(missing_ok=True)
    (staging / ".htaccess").write_text(HTACCESS)
    uploads = staging / "wp-content" / "uploads"
    if uploads.is_symlink() or uploads.is_file():
        uploads.unlink()
    elif uploads.is_dir():
        shutil.rmtree(uploads)
    # Relative links: the site tree can be moved or bind-mounted and still resolve.
    os.symlink(os.path.relpath(paths.shared_wp_config, staging), staging / "wp-config.php")
    os.symlink(os.path.relpath(paths.shared_uploads, uploads.parent), uploads)
    os.replace(staging, release)
    return release


def point_current(paths: LabPaths, release: Path) -> None:
    """Atomically make `current` point at release (a new link renamed over the old)."""
    tmp = paths.site / ".current.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(release, paths.site), tmp)
    os.replace(tmp, paths.current)


INSTALL_PHP = r"""<?php
// Run by `premortem lab up` with php-cli: installs WordPress, or fixes its URL.
$url = getenv('PREMORTEM_URL');
$parts = parse_url($url);
$_SERVER['HTTP_HOST'] = $parts['host'] . ':' . $parts['port'];
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
define('WP_INSTALLING', true);
define('DISABLE_WP_CRON', true);
// No HTTP from the installer: wp_install() probes pretty permalinks with a request to the
// site itself, which a loaded machine's busy PHP workers once left hanging until the lab's
// timeout. The permalinks are set below. (A hook given before wp-load.php: WP_Hook builds it.)
$GLOBALS['wp_filter']['pre_http_request'][10]['premortem_lab_no_http'] = [
    'function' => function () { return new WP_Error('premortem_lab', 'no HTTP while installing'); },
    'accepted_args' => 1,
];
// No mail from the installer (pluggable: defined before upgrade.php declares it).
function wp_new_blog_notification($blog_title, $blog_url, $user_id, $password) {}
require getenv('PREMORTEM_RELEASE') . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
if (!is_blog_installed()) {
    $result = wp_install('premortem lab', 'admin', 'admin@example.invalid', false, '',
                         getenv('PREMORTEM_ADMIN_PASSWORD'));
    if (is_wp_error($result)) { fwrite(STDERR, $result->get_error_message()); exit(1); }
}
// Debian's default (twentytwentythree) is not packaged with wordpress; use the lab's theme.
if (get_option('stylesheet') !== 'twentytwentyone' && wp_get_theme('twentytwentyone')->exists()) {
    switch_theme('twentytwentyone');
}
update_option('siteurl', rtrim($url, '/'));
update_option('home', rtrim($url, '/'));
// Through WP_Rewrite, and the rules flushed (not .htaccess): a bare update_option leaves
// the installer's date-based rules, and /hello-world/ answers 404.
$GLOBALS['wp_rewrite']->set_permalink_structure('/%postname%/');
flush_rewrite_rules(false);
echo "ok\n";
"""


def install(paths: LabPaths, release: Path, url: str, admin_password: str) -> None:
    """Run WordPress's own installer (wp_install) with php-cli; set siteurl/home to url."""
    script = paths.state / "wp-install.php"
    script.write_text(INSTALL_PHP)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PREMORTEM_URL": url,
        "PREMORTEM_RELEASE": str(release),
        "PREMORTEM_ADMIN_PASSWORD": admin_password,
    }
    proc = subprocess.run(
        ["php", "-d", "display_errors=stderr", str(script)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )
    if proc.returncode != 0 or "ok" not in proc.stdout:
        detail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
        raise PremortemError(f"installing WordPress in the lab failed:\n{detail}")
