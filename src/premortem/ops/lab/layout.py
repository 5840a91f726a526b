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


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "premortem.toml"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def tls_ca(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def tls_chain(self) -> Path:
        """The intermediate CA's certificate (Apache's SSLCertificateChainFile)."""
        return self.tls_dir / "chain.pem"

    @property
    def tls_issuer_key(self) -> Path:
        """The intermediate CA's key: faults issue the lab's broken certificates with it."""
        return self.tls_dir / "intermediate.key"

    @property
    def tls_cert(self) -> Path:
        """The server's certificate alone (Apache's SSLCertificateFile)."""
        return self.tls_dir / "server.pem"

    @property
    def tls_fullchain(self) -> Path:
        """The server's certificate and the intermediate (nginx's ssl_certificate)."""
        return self.tls_dir / "fullchain.pem"

    @property
    def tls_key(self) -> Path:
        return self.tls_dir / "server.key"

    @property
    def apache_dir(self) -> Path:
        return self.root / "apache"

    @property
    def httpd_conf(self) -> Path:
        return self.apache_dir / "httpd.conf"

    @property
    def php_site_conf(self) -> Path:
        return self.apache_dir / "php-site.conf"

    @property
    def fpm_handler_conf(self) -> Path:
        """The apache-fpm flavour's PHP handler (named as Debian's conf-available file)."""
        return self.apache_dir / "php8.2-fpm.conf"

    @property
    def apache_run(self) -> Path:
        return self.apache_dir / "run"

    @property
    def apache_pid(self) -> Path:
        return self.apache_run / "httpd.pid"

    @property
    def nginx_dir(self) -> Path:
        return self.root / "nginx"

    @property
    def nginx_conf(self) -> Path:
        return self.nginx_dir / "nginx.conf"

    @property
    def nginx_run(self) -> Path:
        return self.nginx_dir / "run"

    @property
    def nginx_pid(self) -> Path:
        return self.nginx_run / "nginx.pid"

    @property
    def nginx_temp(self) -> Path:
        return self.nginx_dir / "tmp"

    @property
    def fpm_dir(self) -> Path:
        return self.root / "php-fpm"

    @property
    def fpm_conf(self) -> Path:
        return self.fpm_dir / "php-fpm.conf"

    @property
    def fpm_pool_conf(self) -> Path:
        return self.fpm_dir / "pool-www.conf"

    @property
    def fpm_run(self) -> Path:
        return self.fpm_dir / "run"

    @property
    def fpm_pid(self) -> Path:
        return self.fpm_run / "php-fpm.pid"

    @property
    def fpm_socket(self) -> Path:
        return self.fpm_run / "php-fpm.sock"

    @property
    def php_error_log(self) -> Path:
        return self.logs / "php-error.log"

    @property
    def fpm_log(self) -> Path:
        return self.logs / "php-fpm.log"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def error_log(self) -> Path:
        return self.logs / "error.log"

    @property
    def access_log(self) -> Path:
        return self.logs / "access.log"

    @property
    def mariadb_log(self) -> Path:
        return self.logs / "mariadb.log"

    @property
    def mariadb_dir(self) -> Path:
        return self.root / "mariadb"

    @property
    def my_cnf(self) -> Path:
        return self.mariadb_dir / "my.cnf"

    @property
    def db_data(self) -> Path:
        return self.mariadb_dir / "data"

    @property
    def db_run(self) -> Path:
        return self.mariadb_dir / "run"

    @property
    def db_socket(self) -> Path:
        return self.db_run / "mysqld.sock"

    @property
    def db_pid(self) -> Path:
        return self.db_run / "mysqld.pid"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def releases(self) -> Path:
        return self.site / "releases"

    @property
    def shared(self) -> Path:
        return self.site / "shared"

    @property
    def shared_wp_config(self) -> Path:
        return self.shared / "wp-config.php"

    @property
    def shared_uploads(self) -> Path:
        return self.shared / "wp-content" / "uploads"

    @property
    def current(self) -> Path:
        return self.site / "current"

    @property
    def php_conf_d(self) -> Path:
        return self.root / "php" / "conf.d"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def lab_json(self) -> Path:
        return self.state / "lab.json"

    @property
    def fault_json(self) -> Path:
        return self.state / "fault.json"

    @property
    def fault_backups(self) -> Path:
        return self.state / "fault-backups"

    @property
    def db_password_file(self) -> Path:
        return self.state / "db-password"

    @property
    def admin_password_file(self) -> Path:
        return self.state / "wp-admin-password"
