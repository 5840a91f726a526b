"""The lab's own nginx (nginx flavour): config rendering, start, stop, graceful reload.

It never edits /etc/nginx and never signals the system's nginx: it runs
`/usr/sbin/nginx -c <lab>/nginx/nginx.conf -p <lab>/nginx/ -e <lab>/logs/error.log` with its
own PID file, temp dirs and logs. It only reads one file Debian's nginx ships
(mime.types).
"""

from __future__ import annotations

import os
import signal
import subprocess

from premortem.errors import PremortemError
from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.procs import (
    LabDaemon,
    run_server_command,
    server_env,
    signaller,
)
from premortem.ops.lab.tls import LAB_NAME

NGINX_BIN = "/usr/sbin/nginx"
NGINX_NAMES = ("nginx",)
DAEMON = LabDaemon("nginx", lambda paths: paths.nginx_pid, NGINX_NAMES)
TEMP_DIRS = ("client_body", "fastcgi", "proxy", "uwsgi", "scgi")


# Debian's fastcgi_params, written out: its security update passes HTTP_HOST as $host, which
# drops the port, and WordPress then redirects every page to itself on a non-80 port. The
# port here is the server's own ($server_port), not the client's Host header.
FASTCGI_PARAMS = """\
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param CONTENT_TYPE $content_type;
            fastcgi_param CONTENT_LENGTH $content_length;
            fastcgi_param SCRIPT_NAME $fastcgi_script_name;
            fastcgi_param REQUEST_URI $request_uri;
            fastcgi_param DOCUMENT_URI $document_uri;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param REQUEST_SCHEME $scheme;
            fastcgi_param HTTPS $https if_not_empty;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
            fastcgi_param SERVER_SOFTWARE nginx/$nginx_version;
            fastcgi_param REMOTE_ADDR $remote_addr;
            fastcgi_param REMOTE_PORT $remote_port;
            fastcgi_param SERVER_ADDR $server_addr;
            fastcgi_param SERVER_PORT $server_port;
            fastcgi_param SERVER_NAME $server_name;
            fastcgi_param REDIRECT_STATUS 200;
            fastcgi_param HTTP_HOST $host:$server_port;
            # The resolved `current` link: each request runs the release it points at.
            fastcgi_param SCRIPT_FILENAME $realpath_root$fastcgi_script_name;
            fastcgi_param DOCUMENT_ROOT $realpath_root;"""


def render_tls(paths: LabPaths) -> str:
    return f"""
        # HTTPS (`lab up --tls`): the lab's throwaway certificate and its chain.
        ssl_certificate {paths.tls_fullchain};
        ssl_certificate_key {paths.tls_key};"""


def render_nginx_conf(
    paths: LabPaths, port: int, tls: bool = False, address: str = "127.0.0.1"
) -> str:
    temp = paths.nginx_temp
    listen = f"{address}:{port} ssl" if tls else f"{address}:{port}"
    names = f"{LAB_NAME} {address}" if tls else address
    return f"""# Written by `premortem lab up`: the lab's own nginx, independent of /etc/nginx.
user www-data;
worker_processes 2;
pid {paths.nginx_pid};
error_log {paths.error_log} warn;

events {{
    worker_connections 256;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65;

    # nginx's predefined `combined` format, as Apache's.
    access_log {paths.access_log} combined;

    client_body_temp_path {temp}/client_body;
    fastcgi_temp_path {temp}/fastcgi;
    proxy_temp_path {temp}/proxy;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;

    upstream php_fpm {{
        server unix:{paths.fpm_socket};
    }}

    server {{
        listen {listen};
        server_name {names};{render_tls(paths) if tls else ""}
        root {paths.current};
        index index.php index.html;

        location / {{
            try_files $uri $uri/ /index.php?$args;
        }}

        location ~ /\\.ht {{
            deny all;
        }}

        location ~ \\.php$ {{
            try_files $uri =404;
{FASTCGI_PARAMS}
            fastcgi_pass php_fpm;
        }}
    }}
}}
"""


def make_dirs(paths: LabPaths) -> None:
    for d in (paths.nginx_dir, paths.nginx_run, paths.nginx_temp):
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)


def _run(paths: LabPaths, *args: str) -> subprocess.CompletedProcess[str]:
    return run_server_command(
        [
            NGINX_BIN,
            "-c",
            str(paths.nginx_conf),
            "-p",
            f"{paths.nginx_dir}/",
            # The log nginx writes to before it has read its config (else /var/log/nginx).
            "-e",
            str(paths.error_log),
            *args,
        ],
        server_env(),
    )


def config_test(paths: LabPaths) -> None:
    proc = _run(paths, "-t", "-q")
    if proc.returncode != 0:
        raise PremortemError(f"the lab's nginx config does not parse:\n{proc.stderr.strip()}")


def start(paths: LabPaths) -> int:
    """Start the lab's nginx; return the master's PID. Clear message when it cannot."""
    return DAEMON.start(
        paths,
        prepare=lambda: make_dirs(paths),
        launch=lambda: _run(paths),
        not_ready=(
            f"the lab's nginx did not write its PID file {paths.nginx_pid}; see {paths.error_log}"
        ),
    )


def reload(paths: LabPaths, timeout: float = 15.0) -> None:
    """Re-read the config (SIGHUP to the master) once it parses; wait until the old workers
    have left and new ones run.

    The master keeps its listening sockets (opening new ones, closing dropped ones), so a
    reload refuses no connection on an unchanged port.
    """
    DAEMON.replace_workers(paths, config_test, signaller(signal.SIGHUP), timeout)
