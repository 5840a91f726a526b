"""The apache-fpm flavour's Apache: event MPM, PHP passed to the lab's php-fpm by proxy_fcgi.

The same httpd.conf as the mod_php flavour (apache.py renders it) with the event MPM, mod_proxy
and mod_proxy_fcgi instead of prefork and mod_php, and the PHP handler in its own file,
`apache/php8.2-fpm.conf`, written the way Debian's php8.2-fpm package writes
/etc/apache2/conf-available/php8.2-fpm.conf (`a2enconf php8.2-fpm`): a `<FilesMatch>` whose
`SetHandler "proxy:unix:SOCKET|fcgi://localhost"` names the lab pool's socket. The pool
itself is the nginx flavour's (phpfpm.py).
"""

from __future__ import annotations

from premortem.ops.lab.apache import ApachePhp
from premortem.ops.lab.layout import LabPaths

# Few threads in few processes: Apache itself runs no PHP, the pool's workers do.
EVENT_MPM = """# Event MPM: Apache's threads only pass PHP requests on to php-fpm.
<IfModule mpm_event_module>
    StartServers 1
    ServerLimit 2
    ThreadsPerChild 16
    MinSpareThreads 8
    MaxSpareThreads 32
    MaxRequestWorkers 32
    MaxConnectionsPerChild 0
</IfModule>"""


PHP_FPM = ApachePhp(
    modules=(
        ("mpm_event_module", "mod_mpm_event.so"),
        ("proxy_module", "mod_proxy.so"),
        ("proxy_fcgi_module", "mod_proxy_fcgi.so"),
    ),
    mpm=EVENT_MPM,
    handler="# PHP through php-fpm, as `a2enconf php8.2-fpm` does.\n"
    'Include "{paths.fpm_handler_conf}"',
)


def render_handler_conf(paths: LabPaths) -> str:
    """Debian's conf-available/php8.2-fpm.conf with the lab pool's socket."""
    return f"""# As Debian's php8.2-fpm.conf: redirect to local php-fpm if mod_php is not available.
<IfModule !mod_php8.c>
<IfModule proxy_fcgi_module>
    # Enable http authorization headers
    <IfModule setenvif_module>
    SetEnvIfNoCase ^Authorization$ "(.+)" HTTP_AUTHORIZATION=$1
    </IfModule>

    <FilesMatch ".+\\.ph(?:ar|p|tml)$">
        SetHandler "proxy:unix:{paths.fpm_socket}|fcgi://localhost"
    </FilesMatch>
    <FilesMatch ".+\\.phps$">
        # Deny access to raw php sources by default
        Require all denied
    </FilesMatch>
    # Deny access to files without filename (e.g. '.php')
    <FilesMatch "^\\.ph(?:ar|p|ps|tml)$">
        Require all denied
    </FilesMatch>
</IfModule>
</IfModule>
"""


def handler_line(paths: LabPaths) -> int:
    """The line of the handler file that names the socket (scenarios and tests point at it)."""
    lines = render_handler_conf(paths).splitlines()
    return next(n for n, text in enumerate(lines, 1) if "SetHandler" in text)
