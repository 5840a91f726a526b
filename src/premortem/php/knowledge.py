"""What premortem knows about PHP applications, as data (not special cases in the resolver).

Each profile says how to recognise an application's root directory (marker files) and how
the application defines the constants and variables that its include paths are built
from. The definitions are PHP expressions, evaluated as if written in a file at the
application root (so `__DIR__` is that root). They are *extra* definitions: the ones found
in the analysed code are tried as well, and an include resolves if any of them yields an
existing file ("several definitions -> try each").

Why they are needed even though the code defines most of them: a release tree may not
contain the file that defines a constant (WordPress's `ABSPATH` comes from `wp-load.php` or a
`wp-config.php` that lives in a shared directory), and Debian's packages define some of
them as absolute paths to the packaged copy (`define('ABSPATH', '/usr/share/wordpress/')`).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OptionalTarget:
    """Include targets that the application's core loads only when a site provides them.

    `target` is a glob relative to the app root; the include is optional unless the
    including file itself lies under `unless_from` (a plugin's own includes must exist).
    """

    target: str
    unless_from: str | None = None


@dataclass(frozen=True)
class AppProfile:
    name: str
    # Relative paths that must all exist for a directory to be this application's root.
    markers: tuple[str, ...]
    # Constant name -> PHP expressions that define it (relative to the app root).
    constants: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Variable name (without $) -> PHP expressions; variables are otherwise never resolved.
    variables: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Files the core includes only if the site has them (drop-ins, plugins, runtime files).
    optional: tuple[OptionalTarget, ...] = ()
    # File (relative to the app root) -> PHP expressions of the include_path its
    # set_include_path() sets, where check cannot compute it from the code.
    include_paths: dict[str, tuple[str, ...]] = field(default_factory=dict)


WORDPRESS = AppProfile(
    name="wordpress",
    markers=("wp-settings.php", "wp-includes/version.php"),
    constants={
        # wp-load.php: define( 'ABSPATH', __DIR__ . '/' ); wp-admin/*: dirname( __DIR__ ) . '/'
        "ABSPATH": ("__DIR__ . '/'",),
        # wp-settings.php and wp-load.php: define( 'WPINC', 'wp-includes' );
        "WPINC": ("'wp-includes'",),
        # wp-includes/default-constants.php: wp_initial_constants(), wp_plugin_directory_constants()
        "WP_CONTENT_DIR": ("ABSPATH . 'wp-content'",),
        "WP_PLUGIN_DIR": ("WP_CONTENT_DIR . '/plugins'",),
        "WPMU_PLUGIN_DIR": ("WP_CONTENT_DIR . '/mu-plugins'",),
        "WP_LANG_DIR": ("WP_CONTENT_DIR . '/languages'", "ABSPATH . WPINC . '/languages'"),
        "PLUGINDIR": ("'wp-content/plugins'",),
        "MUPLUGINDIR": ("'wp-content/mu-plugins'",),
    },
    optional=(
        # Drop-ins (advanced-cache.php, db.php, object-cache.php, sunrise.php, ...).
        OptionalTarget("wp-content/*.php"),
        # Written during a core update, then included (update-core.php).
        OptionalTarget("wp-content/upgrade/*"),
        # Core includes a plugin's files only when that plugin is active (press-this).
        OptionalTarget("wp-content/plugins/*", unless_from="wp-content/plugins/"),
        OptionalTarget("wp-content/themes/*", unless_from="wp-content/themes/"),
    ),
)

DOKUWIKI = AppProfile(
    name="dokuwiki",
    markers=("doku.php", "inc/init.php"),
    constants={
        # Every entry point: if(!defined('DOKU_INC')) define('DOKU_INC', __DIR__ . '/');
        "DOKU_INC": ("__DIR__ . '/'",),
        "DOKU_PLUGIN": ("DOKU_INC . 'lib/plugins/'",),
        "DOKU_CONF": ("DOKU_INC . 'conf/'",),
        "DOKU_TPLINC": ("DOKU_INC . 'lib/tpl/dokuwiki/'",),
    },
)

MEDIAWIKI = AppProfile(
    name="mediawiki",
    markers=("includes/WebStart.php", "includes/Setup.php"),
    constants={"MW_INSTALL_PATH": ("__DIR__",)},
    # includes/WebStart.php: $IP = getenv('MW_INSTALL_PATH') ?: dirname(__DIR__)
    variables={"IP": ("__DIR__",)},
    # Distributions do not ship tests/; only the test runner loads it.
    optional=(OptionalTarget("tests/*"),),
)

PHPMYADMIN = AppProfile(
    name="phpmyadmin",
    markers=("libraries/common.inc.php",),
    constants={"ROOT_PATH": ("__DIR__ . '/'",)},
)

# Any tree with Composer dependencies: a dependency's own vendor/ (its standalone
# autoloader) never exists once it is installed as a dependency; only its dev scripts
# (bin/, tests/, examples) load it. No markers: applies at the analysed root.
COMPOSER = AppProfile(
    name="composer",
    markers=(),
    optional=(OptionalTarget("*vendor/*/vendor/*"),),
)

ZABBIX = AppProfile(
    name="zabbix",
    markers=("include/classes/core/ZBase.php", "include/config.inc.php"),
    # ZBase::run(): set_include_path(get_include_path().PATH_SEPARATOR.$this->rootDir),
    # $this->rootDir = realpath(dirname(__FILE__).'/../../..'): the application root.
    include_paths={
        "include/classes/core/ZBase.php": ("get_include_path() . PATH_SEPARATOR . __DIR__",)
    },
)

CACTI = AppProfile(
    name="cacti",
    markers=("include/global.php", "lib/rrd.php"),
    # include/global.php: $config['include_path'] = dirname(__FILE__); then
    # set_include_path($config['include_path'] . '/vendor/phpseclib/') (replaces it).
    include_paths={
        "lib/rrd.php": ("__DIR__ . '/include/vendor/phpseclib/'",),
        "lib/auth.php": ("__DIR__ . '/include/vendor/phpseclib/'",),
    },
)

PROFILES: tuple[AppProfile, ...] = (
    WORDPRESS,
    DOKUWIKI,
    MEDIAWIKI,
    PHPMYADMIN,
    ZABBIX,
    CACTI,
    COMPOSER,
)

# Files (globs relative to the analysed root) that ship with a dependency but are never
# served: examples, demos, tests, benchmarks and command-line tools of vendored libraries.
# A missing include in them is reported as a warning, not an error.
DEV_ONLY_FILES: tuple[str, ...] = (
    *(
        f"*{vendor}/*/{directory}/*"
        # Composer's vendor-dir, also under another name (LDAP Account Manager: 3rdParty/composer)
        for vendor in ("vendor", "3rdParty/composer")
        for directory in (
            "example",
            "examples",
            "demo",
            "demos",
            "test",
            "tests",
            "bin",
            "benchmark",
            "benchmarks",
            "scripts",
            "tools",
            "build",
        )
    ),
    # PHPMailer's OAuth set-up script, run from a development checkout (after composer install).
    "*phpmailer/get_oauth_token.php",
)

# The application's own test scripts (a test bootstrap loads a development install's
# vendor/autoload.php): never served, a missing include there is a warning.
TEST_FILES: tuple[str, ...] = ("tests/*", "*/tests/*", "test/*", "*/test/*", "*psalm-autoload.php")

# Include targets (globs relative to the analysed root) that a tree may lack by design, and
# why: a missing one is reported as a warning that says so, not as an error.
GENERATED_TARGETS: tuple[tuple[str, str], ...] = (
    ("*vendor/composer/installed.php", "a file Composer generates on install"),
    ("*vendor/composer/autoload_*.php", "a file Composer generates on install"),
    ("*vendor/*/tests/*", "a dependency's development file, not installed"),
    ("*vendor/*/test/*", "a dependency's development file, not installed"),
    ("*psalm-autoload.php", "a dependency's development file (Psalm), not installed"),
    # Outside the tree, written by the application or its package at run time (GOsa's
    # /var/cache/gosa/class.cache, made by update-gosa): absent on the machine checking.
    ("/var/cache/*", "a file generated at run time, outside the checked tree"),
    ("/var/lib/*", "a file generated at run time, outside the checked tree"),
)

# Constants PHP itself defines, with their values on Linux.
BUILTIN_CONSTANTS: dict[str, str] = {
    "DIRECTORY_SEPARATOR": "/",
    "PATH_SEPARATOR": ":",
    "PHP_EOL": "\n",
}

# PHP's include_path when php.ini does not set one (Debian's php.ini leaves it commented out).
DEFAULT_INCLUDE_PATH = ".:/usr/share/php"
