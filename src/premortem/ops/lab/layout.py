"""Where everything of one lab lives, under its directory.

<dir>/premortem.toml                 site config for later commands (--config)
<dir>/apache/httpd.conf              the lab's own Apache config (never /etc/apache2)
<dir>/apache/php-site.conf           PHP settings for the site (scenarios rewrite it)
<dir>/apache/run/                    PidFile, mutexes
<dir>/apache/php8.2-fpm.conf         apache-fpm flavour: the handler passing .php to php-fpm
<dir>/nginx/nginx.conf, run/, tmp/   the lab's own nginx (nginx flavour; never /etc/nginx)
<dir>/php-fpm/php-fpm.conf           the lab's own php-fpm master (nginx flavour)
<dir>/php-fpm/pool-www.conf          its pool: www-data, unix socket, PHP settings (scenarios
                                     rewrite it)
<dir>/php-fpm/run/                   php-fpm's PID file and socket
<dir>/logs/error.log, access.log     the web server's error log (with Apache also PHP's),
                                     combined access log
<dir>/logs/php-error.log             PHP's error log (nginx flavour: php_admin_value[error_log])
<dir>/logs/php-fpm.log               php-fpm's own log, with the workers' output (nginx flavour)
<dir>/logs/mariadb.log               MariaDB's own log
<dir>/mariadb/my.cnf, data/, run/    the lab's own MariaDB (socket, pid file)
<dir>/site/releases/<UTC stamp>/     WordPress code, one directory per release
<dir>/site/shared/                   wp-config.php, wp-content/uploads (linked into releases)
<dir>/site/current -> releases/...   Apache's DocumentRoot
<dir>/state/                         lab.json, fault journal, secrets (0700)
<dir>/tls/                           a TLS lab's throwaway PKI (`lab up --tls`): ca.pem (the
                                     root premortem.toml's ca_file trusts), chain.pem (the
                                     intermediate), server.pem, fullchain.pem, server.key;
                                     the keys 0600, nothing installed in the system's store
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import overload


class Below:
    """A path of the layout below another of its paths: `tls_dir = Below("root", "tls")`."""

    def __init__(self, base: str, *parts: str) -> None:
        self.base, self.parts = base, parts

    @overload
    def __get__(self, paths: None, owner: type) -> Below: ...

    @overload
    def __get__(self, paths: object, owner: type) -> Path: ...

    def __get__(self, paths: object, owner: type) -> Below | Path:
        if paths is None:
            return self
        return Path(getattr(paths, self.base), *self.parts)


@dataclass(frozen=True)
class LabPaths:
    root: Path

    config = Below("root", "premortem.toml")
    tls_dir = Below("root", "tls")
    tls_ca = Below("tls_dir", "ca.pem")
    # The intermediate CA's certificate (Apache's SSLCertificateChainFile).
    tls_chain = Below("tls_dir", "chain.pem")
    # The intermediate CA's key: faults issue the lab's broken certificates with it.
    tls_issuer_key = Below("tls_dir", "intermediate.key")
    # The server's certificate alone (Apache's SSLCertificateFile).
    tls_cert = Below("tls_dir", "server.pem")
    # The server's certificate and the intermediate (nginx's ssl_certificate).
    tls_fullchain = Below("tls_dir", "fullchain.pem")
    tls_key = Below("tls_dir", "server.key")
    apache_dir = Below("root", "apache")
    httpd_conf = Below("apache_dir", "httpd.conf")
    php_site_conf = Below("apache_dir", "php-site.conf")
    # The apache-fpm flavour's PHP handler (named as Debian's conf-available file).
    fpm_handler_conf = Below("apache_dir", "php8.2-fpm.conf")
    apache_run = Below("apache_dir", "run")
    apache_pid = Below("apache_run", "httpd.pid")
    nginx_dir = Below("root", "nginx")
    nginx_conf = Below("nginx_dir", "nginx.conf")
    nginx_run = Below("nginx_dir", "run")
    nginx_pid = Below("nginx_run", "nginx.pid")
    nginx_temp = Below("nginx_dir", "tmp")
    fpm_dir = Below("root", "php-fpm")
    fpm_conf = Below("fpm_dir", "php-fpm.conf")
    fpm_pool_conf = Below("fpm_dir", "pool-www.conf")
    fpm_run = Below("fpm_dir", "run")
    fpm_pid = Below("fpm_run", "php-fpm.pid")
    fpm_socket = Below("fpm_run", "php-fpm.sock")
    php_error_log = Below("logs", "php-error.log")
    fpm_log = Below("logs", "php-fpm.log")
    logs = Below("root", "logs")
    error_log = Below("logs", "error.log")
    access_log = Below("logs", "access.log")
    mariadb_log = Below("logs", "mariadb.log")
    mariadb_dir = Below("root", "mariadb")
    my_cnf = Below("mariadb_dir", "my.cnf")
    db_data = Below("mariadb_dir", "data")
    db_run = Below("mariadb_dir", "run")
    db_socket = Below("db_run", "mysqld.sock")
    db_pid = Below("db_run", "mysqld.pid")
    db_tmp = Below("mariadb_dir", "tmp")
    site = Below("root", "site")
    releases = Below("site", "releases")
    shared = Below("site", "shared")
    shared_wp_config = Below("shared", "wp-config.php")
    shared_uploads = Below("shared", "wp-content", "uploads")
    current = Below("site", "current")
    php_conf_d = Below("root", "php", "conf.d")
    state = Below("root", "state")
    lab_json = Below("state", "lab.json")
    fault_json = Below("state", "fault.json")
    fault_backups = Below("state", "fault-backups")
    db_password_file = Below("state", "db-password")
    admin_password_file = Below("state", "wp-admin-password")
