"""The lab: a real web stack (Apache + mod_php, or nginx + php-fpm), MariaDB and WordPress
on 127.0.0.1.

`Lab(dir)` owns everything under dir (see layout.py); `up`, `down`, `destroy`, `status`,
`break_scenario` and `repair` are the whole API; the CLI (`premortem lab`) is a thin layer.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from premortem.collectors.target import Target, site_client
from premortem.errors import PremortemError
from premortem.ops.lab import mariadb, wordpress
from premortem.ops.lab.journal import FaultJournal
from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.procs import free_port, port_is_free, wait_listening
from premortem.ops.lab.readback import verify_read_back
from premortem.ops.lab.scenarios import get_scenario
from premortem.ops.lab.servers import SERVER_NAMES, WebServer, server_named
from premortem.ops.lab.tls import LAB_NAME, make_pki
from premortem.ops.packages import LAB_PACKAGES, ensure_packages
from premortem.siteconfig import SiteConfig, read_site_config, write_site_config

DEFAULT_DIR = Path("/srv/premortem-lab")
DEFAULT_PORT = 8080

Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class LabStatus:
    url: str
    dir: str
    config: str
    access_log: str
    error_log: str
    running: bool
    port: int | None
    db_port: int | None
    apache_running: bool
    db_running: bool
    pids: dict[str, list[int]] = field(default_factory=dict)
    release: str | None = None
    docroot: str = ""
    fault: str | None = None
    # The flavour ("apache", "nginx" or "apache-fpm") and whether all its processes run
    # (nginx: nginx and php-fpm); apache_running stays false on an nginx lab.
    server: str = "apache"
    server_running: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LabState:
    """What the lab remembers between commands (state/lab.json; no secrets)."""

    port: int
    db_port: int
    release: str = ""
    installed: bool = False
    # The web-server flavour, chosen at the first `up` (labs from before it: apache).
    server: str = "apache"
    # HTTPS with the lab's own CA (`up --tls`), chosen at the first `up` too.
    tls: bool = False
    # A fleet host (ops/lab/fleet) listens on its network namespace's address, and uses
    # the fleet's MariaDB at db_host:db_port instead of its own ("": its own).
    address: str = "127.0.0.1"
    db_host: str = ""

    @classmethod
    def load(cls, path: Path) -> LabState | None:
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise PremortemError(f"the lab's state file {path} is damaged: {exc}") from None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)


class Lab:
    def __init__(self, dir: Path = DEFAULT_DIR, progress: Progress | None = None) -> None:
        self.dir = Path(os.path.abspath(dir))
        self.paths = LabPaths(self.dir)
        self.progress: Progress = progress or _stderr

    # -- small accessors ---------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.paths.config

    @property
    def state(self) -> LabState | None:
        return LabState.load(self.paths.lab_json)

    def _require_state(self) -> LabState:
        state = self.state
        if state is None:
            raise PremortemError(
                f"no lab at {self.dir}: run `premortem lab up --dir {self.dir}` first"
            )
        return state

    @property
    def server(self) -> WebServer:
        """The lab's web-server flavour (apache for a lab not yet made)."""
        state = self.state
        return server_named(state.server if state else "apache")

    @property
    def url(self) -> str:
        state = self.state
        if state is None:
            return self.url_for(DEFAULT_PORT)
        return self.url_for(state.port, state.tls, state.address)

    @property
    def release_dir(self) -> Path:
        """The live release (where `current` points)."""
        state = self._require_state()
        live = Path(os.path.realpath(self.paths.current))
        # A dangling `current` (a fault) still has the recorded release behind it.
        return live if live.is_dir() else self.paths.releases / state.release

    def site_config(self) -> SiteConfig:
        return read_site_config(self.config_path)

    def journal(self) -> FaultJournal:
        return FaultJournal.load(self.paths.fault_json, self.paths.fault_backups)

    @contextlib.contextmanager
    def _step(self, what: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.progress(f"  {what} ({time.monotonic() - started:.2f}s)")

    # -- status --------------------------------------------------------------------------

    def status(self) -> LabStatus:
        state = self.state
        server = server_named(state.server if state else "apache")
        pids = server.pids(self.paths)
        server_running = server.running(self.paths)
        db_pid = mariadb.pid(self.paths)
        if db_pid is not None:
            pids["mariadb"] = [db_pid]
        fault = None
        with contextlib.suppress(PremortemError):
            fault = self.journal().active
        return LabStatus(
            url=self.url,
            dir=str(self.dir),
            config=str(self.config_path),
            access_log=str(self.paths.access_log),
            error_log=str(self.paths.error_log),
            running=server_running and (db_pid is not None or bool(state and state.db_host)),
            port=state.port if state else None,
            db_port=state.db_port if state else None,
            apache_running="apache" in pids,
            db_running=db_pid is not None,
            pids=pids,
            release=state.release if state and state.release else None,
            docroot=str(self.paths.current),
            fault=fault,
            server=server.name,
            server_running=server_running,
        )

    # -- up ------------------------------------------------------------------------------

    def up(
        self, port: int = DEFAULT_PORT, server: str | None = None, tls: bool | None = None
    ) -> LabStatus:
        """Install what is missing, start the lab's MariaDB and web server, install WordPress.

        server: "apache" (Apache + mod_php), "nginx" (nginx + php-fpm) or "apache-fpm"
        (Apache + php-fpm); None keeps the
        lab's flavour (apache for a new lab). A lab keeps the flavour of its first `up`.
        tls: serve https://premortem-lab.test:PORT/ with the lab's own CA (tls.py); None
        keeps the lab's choice (plain HTTP for a new lab), which is also kept.
        Idempotent: a running lab is left as it is. A lab with a fault injected comes up
        broken (the fault stays until `repair`).
        """
        flavour = self._flavour_for_up(server)
        started = time.monotonic()
        self.progress(f"lab up: {self.dir}")
        with self._step("packages present"):
            installed = ensure_packages(LAB_PACKAGES)
            if installed:
                self.progress(f"  installed: {' '.join(installed)}")
        current = self.status()
        if current.running:
            self.progress(f"lab already running at {current.url} (dir {self.dir})")
            if current.port != port:
                self.progress(f"  (not moved to port {port}: `lab down` first to change ports)")
            return current
        fault = self.journal().active
        state, port_changed, db_port_changed = self._ports_for_up(port, flavour, current, fault)
        state.tls = self._tls_for_up(tls, state)
        with self._step("layout and configs"):
            self._make_layout(flavour, state.tls)
            self._write_configs(state, rewrite=(fault is None) or port_changed)
        state.save(self.paths.lab_json)
        db_password = self._start_database(state)
        self._ensure_release(state, db_password, db_port_changed)
        with self._step(f"{flavour.name} running on {state.address}:{state.port}"):
            flavour.config_test(self.paths)
            flavour.start(self.paths, nofile=self._apache_nofile())
            if not wait_listening(state.port, 10, host=state.address):
                raise PremortemError(
                    f"the lab's {flavour.name} does not listen on port {state.port}"
                )
        if not state.installed or port_changed:
            self._install_wordpress(state)
        self._write_site_config(state, verify=fault is None)
        if fault is None:
            with self._step("site answers"):
                self.wait_healthy(timeout=20)
        else:
            self.progress(f"  fault {fault!r} is injected: run `premortem lab repair` to heal")
        self.progress(f"lab up at {self.url} in {time.monotonic() - started:.1f}s")
        return self.status()

    def _flavour_for_up(self, server: str | None) -> WebServer:
        """The web server this `up` runs, after checking it may run it at all."""
        if server is not None and server not in SERVER_NAMES:
            raise PremortemError(f"unknown server {server!r}; choose one of {SERVER_NAMES}")
        if os.geteuid() != 0:
            raise PremortemError(
                "`lab up` needs root: it installs Debian packages and runs the web server's "
                "workers as www-data and MariaDB as mysql; run it as root (e.g. with sudo)"
            )
        known = self.state
        if known is not None and server is not None and server != known.server:
            raise PremortemError(
                f"the lab at {self.dir} is an {known.server} lab; `premortem lab destroy "
                f"--dir {self.dir}` first, or choose another --dir for an {server} lab"
            )
        return server_named(server or (known.server if known else "apache"))

    def _tls_for_up(self, tls: bool | None, state: LabState) -> bool:
        known = self.state
        if known is not None and tls is not None and tls != known.tls:
            what = "an HTTPS" if known.tls else "a plain-HTTP"
            raise PremortemError(
                f"the lab at {self.dir} is {what} lab; `premortem lab destroy --dir "
                f"{self.dir}` first, or choose another --dir"
            )
        return state.tls if tls is None else tls

    def _ports_for_up(
        self, port: int, flavour: WebServer, current: LabStatus, fault: str | None
    ) -> tuple[LabState, bool, bool]:
        """The lab's state with the ports it comes up on; (state, port moved, db moved)."""
        state = self.state
        if state is not None and state.port != port and current.server_running:
            raise PremortemError(
                f"the lab's {flavour.name} already runs on port {state.port}; `lab down` first"
            )
        self._check_traversable()
        address = state.address if state else "127.0.0.1"
        if not current.pids.get(flavour.services[0]) and not port_is_free(port, address):
            raise PremortemError(
                f"port {port} on {address} is already in use; pick another with --port"
            )
        port_changed = state is not None and state.port != port
        if state is None:
            state = LabState(port=port, db_port=free_port(), server=flavour.name)
        state.port = port
        db_port_changed = False
        if not state.db_host and not current.db_running and not port_is_free(state.db_port):
            state.db_port = free_port()
            db_port_changed = True
        if fault is not None and (port_changed or db_port_changed):
            # The fault's config edits would be lost, and repair would restore old ports.
            raise PremortemError(
                f"fault {fault!r} is injected: `premortem lab repair` before changing ports"
            )
        return state, port_changed or db_port_changed, db_port_changed

    def _start_database(self, state: LabState) -> str:
        """MariaDB initialised, running and holding the site's database; its password."""
        db_password = self._secret(self.paths.db_password_file)
        if state.db_host:
            return db_password  # a fleet host: the fleet runs the database
        if not mariadb.initialised(self.paths):
            with self._step("MariaDB datadir initialised"):
                mariadb.install_db(self.paths)
        with self._step(f"MariaDB running on 127.0.0.1:{state.db_port}"):
            mariadb.start(self.paths, state.db_port)
            mariadb.create_database(self.paths, db_password)
        return db_password

    def _ensure_release(self, state: LabState, db_password: str, db_port_changed: bool) -> None:
        if not state.release or not (self.paths.releases / state.release).is_dir():
            with self._step("WordPress release copied"):
                state.release = wordpress.release_name()
                release = wordpress.create_release(self.paths, state.release)
                wordpress.point_current(self.paths, release)
            state.save(self.paths.lab_json)
        # Written once (keys and salts stay, so sessions survive a restart), again only
        # when the database moved to another port.
        if not self.paths.shared_wp_config.exists() or db_port_changed:
            wordpress.write_shared(
                self.paths, state.db_port, db_password, state.db_host or "127.0.0.1"
            )

    def _install_wordpress(self, state: LabState) -> None:
        with self._step("WordPress installed"):
            wordpress.install(
                self.paths,
                self.paths.releases / state.release,
                self.url_for(state.port, state.tls, state.address),
                self._secret(self.paths.admin_password_file),
            )
        state.installed = True
        state.save(self.paths.lab_json)

    @staticmethod
    def url_for(port: int, tls: bool = False, address: str = "127.0.0.1") -> str:
        return f"https://{LAB_NAME}:{port}/" if tls else f"http://{address}:{port}/"

    def _make_layout(self, server: WebServer, tls: bool = False) -> None:
        p = self.paths
        for d in (p.root, p.logs, p.site, p.releases, p.shared):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o755)
        p.state.mkdir(parents=True, exist_ok=True)
        os.chmod(p.state, 0o700)
        p.mariadb_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(p.mariadb_dir, "mysql", "mysql")
        os.chmod(p.mariadb_dir, 0o750)
        for log in (p.error_log, p.access_log, p.mariadb_log):
            log.touch(exist_ok=True)
        shutil.chown(p.mariadb_log, "mysql", "adm")
        server.make_layout(p)
        if tls:
            make_pki(p)

    def _write_configs(self, state: LabState, rewrite: bool) -> None:
        p = self.paths
        server_named(state.server).write_configs(p, state.port, rewrite, state.tls, state.address)
        if rewrite or not p.my_cnf.exists():
            p.my_cnf.write_text(mariadb.render_my_cnf(p, state.db_port))
            os.chmod(p.my_cnf, 0o644)

    def _check_traversable(self) -> None:
        """The web server's workers (www-data) and mariadbd (mysql) must reach into the lab dir."""
        for parent in [self.dir, *self.dir.parents]:
            if not parent.exists():
                continue
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                raise PremortemError(
                    f"{parent} is not searchable by other users (mode {stat.filemode(mode)}): "
                    "the web server's www-data workers could not reach the lab; choose a --dir "
                    "under a world-searchable directory (e.g. /srv or /tmp)"
                )

    def _secret(self, path: Path) -> str:
        """A random secret kept in a 0600 file (created on first use); never printed."""
        if path.exists():
            return path.read_text().strip()
        value = secrets.token_hex(16)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(value + "\n")
        return value

    def _write_site_config(self, state: LabState, *, verify: bool = False) -> None:
        p = self.paths
        server = server_named(state.server)
        if verify:
            # What premortem.toml says must be what the configs say, read as check and
            # diagnose read any site's configs (not while a fault has changed them).
            verify_read_back(state.server, p, state.port, state.address)
        config = SiteConfig(
            url=self.url_for(state.port, state.tls, state.address),
            site_root=str(p.site),
            docroot=str(p.current),
            server=server.site_server,
            server_config=str(server.config_file(p)),
            error_log=str(p.error_log),
            access_log=str(p.access_log),
            web_user="www-data",
            state_dir=str(p.state),
            # A fleet host's database is the fleet's, over TCP (DB_HOST in wp-config.php).
            db_socket="" if state.db_host else str(p.db_socket),
            db_pid_file="" if state.db_host else str(p.db_pid),
            db_port=state.db_port,
            ca_file=str(p.tls_ca) if state.tls else "",
            start_command=f"premortem lab up --dir {self.dir} --port {state.port}",
            extra={
                "lab": {
                    "dir": str(self.dir),
                    "port": state.port,
                    "release": state.release,
                    "server": server.name,
                    **server.site_config_extra(p),
                }
            },
        )
        for name, value in server.site_settings(p).items():
            setattr(config, name, value)
        write_site_config(config, self.config_path)

    # -- health --------------------------------------------------------------------------

    def get(self, path: str = "/", timeout: float = 10.0) -> httpx.Response:
        """One GET to the lab over loopback (no proxies from the environment); a TLS lab's
        under its name, trusting its CA."""
        state = self.state
        target = Target(ca_file=str(self.paths.tls_ca) if state and state.tls else "")
        with site_client(target, timeout=timeout) as client:
            return client.get(self.url.rstrip("/") + path)

    def wait_healthy(self, timeout: float = 20.0) -> None:
        """GET / must answer 200 and /wp-login.php below 500, within timeout."""
        deadline = time.monotonic() + timeout
        problem = "no answer"
        while time.monotonic() < deadline:
            try:
                home = self.get("/")
                login = self.get("/wp-login.php")
                if home.status_code == 200 and login.status_code < 500:
                    return
                problem = f"GET / -> {home.status_code}, GET /wp-login.php -> {login.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
        tail = ""
        if self.paths.error_log.exists():
            tail = "\n".join(self.paths.error_log.read_text(errors="replace").splitlines()[-5:])
        raise PremortemError(f"the lab's site is not healthy at {self.url}: {problem}\n{tail}")

    # -- down / destroy ------------------------------------------------------------------

    def down(self) -> None:
        """Stop the lab's web server (and php-fpm) and MariaDB by their PID files; keep data."""
        self._require_root("down")
        server = self.server
        with self._step(f"{', '.join(server.services)} stopped"):
            server.stop(self.paths)
        with self._step("MariaDB stopped"):
            mariadb.stop(self.paths)

    def destroy(self) -> None:
        """Stop everything and remove the lab dir (only a dir that holds a lab)."""
        self._require_root("destroy")
        if not self.dir.exists():
            self.progress(f"no lab dir at {self.dir}")
            return
        if not self.paths.lab_json.exists() and not self.paths.config.exists():
            raise PremortemError(
                f"{self.dir} does not look like a lab (no state/lab.json or premortem.toml); "
                "not removing it"
            )
        self.down()
        with contextlib.suppress(PremortemError):
            record = self.journal().record
            if record is not None:
                self._unmount_fault_mounts(record.notes)
        with self._step(f"removed {self.dir}"):
            shutil.rmtree(self.dir)

    def _require_root(self, what: str) -> None:
        if os.geteuid() != 0:
            raise PremortemError(f"`lab {what}` needs root (the lab's daemons run as root)")

    # -- faults --------------------------------------------------------------------------

    def break_scenario(self, name: str) -> None:
        """Inject one fault scenario (recorded, so `repair` undoes it)."""

        self._require_root("break")
        scenario = get_scenario(name)
        state = self._require_state()
        if state.server not in scenario.servers:
            raise PremortemError(
                f"scenario {name!r} does not apply to an {state.server} lab (it applies to: "
                f"{', '.join(scenario.servers)}); see `premortem lab break --list`"
            )
        if scenario.tls_only and not state.tls:
            raise PremortemError(
                f"scenario {name!r} is a certificate fault: it applies to a TLS lab only "
                "(`premortem lab up --tls` in another --dir)"
            )
        if not self.status().running:
            raise PremortemError(f"the lab at {self.dir} is not running: `premortem lab up` first")
        journal = self.journal()
        journal.begin(scenario.name)
        with self._step(f"injected {scenario.name}"):
            scenario.inject(self, journal)
        self.progress(f"  {scenario.description}")

    def repair(self) -> list[str]:
        """Undo the injected fault: restore files byte for byte, restart what it stopped.

        Returns the restored paths. No fault injected: nothing to do.
        """
        self._require_root("repair")
        journal = self.journal()
        record = journal.record
        if record is None:
            self.progress("no fault is injected; nothing to repair")
            return []
        with self._step(f"repaired {record.scenario}"):
            self._unmount_fault_mounts(record.notes)
            restored = journal.restore_paths()
            state = self._require_state()
            if "mariadb" in record.stopped:
                mariadb.start(self.paths, state.db_port)
            # Forget the fault before restarting, so no fault setting (e.g. nofile) sticks.
            journal.finish()
            server = server_named(state.server)
            if record.restart_apache:
                self.restart_server(graceful="nofile" not in record.notes)
            elif set(record.stopped) & set(server.services):
                server.start(self.paths)
        return restored

    # -- helpers for scenarios -----------------------------------------------------------

    def _unmount_fault_mounts(self, notes: dict[str, Any]) -> None:
        """Unmount the filesystems a fault mounted (e.g. a full tmpfs), newest first."""
        for mount_point in reversed(notes.get("mounts", [])):
            if os.path.ismount(mount_point):
                proc = subprocess.run(
                    ["umount", mount_point], capture_output=True, text=True, check=False
                )
                if proc.returncode != 0:
                    raise PremortemError(f"cannot unmount {mount_point}: {proc.stderr.strip()}")

    def _apache_nofile(self) -> int | None:
        """The open-file limit an injected fault imposes on Apache, if any."""
        with contextlib.suppress(PremortemError):
            record = self.journal().record
            if record is not None and "nofile" in record.notes:
                return int(record.notes["nofile"])
        return None

    def restart_server(self, graceful: bool = True) -> None:
        """Make the web server (and php-fpm) re-read its config.

        graceful: Apache's `-k graceful`, nginx's SIGHUP and php-fpm's SIGUSR2: the listening
        socket stays open (no refused connections, as an operator's reload); otherwise a
        full stop and start, needed when the process limits change (workers inherit them
        from the parent).
        """
        server = self.server
        if graceful and server.running(self.paths):
            server.reload(self.paths)
            return
        server.config_test(self.paths)
        server.stop(self.paths)
        server.start(self.paths, nofile=self._apache_nofile())
        state = self._require_state()
        wait_listening(state.port, 10, host=state.address)

    # Apache-only scenarios (and older callers) name it after Apache.
    restart_apache = restart_server

    def reload_php(self) -> None:
        """Make PHP's workers pick up a change of the site's PHP settings (gracefully)."""
        server = self.server
        if server.running(self.paths):
            server.reload_php(self.paths)
        else:
            self.restart_server(graceful=False)
