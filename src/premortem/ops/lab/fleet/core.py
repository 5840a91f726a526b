"""The fleet lab: N web hosts behind HAProxy, on real (namespaced) hosts reached over SSH.

DIR/fleet.json                 what the fleet remembers (hosts, ports, flavour, id, subnet)
DIR/inventory.ini              the Ansible inventory (inventory.py)
DIR/ssh/                       the lab's key (id_ed25519), authorized_keys, known_hosts
DIR/haproxy/                   haproxy.cfg, haproxy.pid, admin.sock (the runtime API),
                               haproxy.log (its `option httplog` lines; haproxy.err)
DIR/premortem.toml             the fleet config (url, HAProxy's log, [balancer]) that
                               `premortem watch --config` and `report` take
DIR/state/                     the balancer watch's event store
DIR/db/                        the fleet's one MariaDB (a lab layout holding only the database)
DIR/hosts/web-NN/              each host: a whole lab (Lab, run inside the host's namespace
                               with `ip netns exec`), listening on the namespace's address,
                               using the fleet's database; ssh/ holds its sshd's config, key,
                               PID file and log

Each host runs its own web server (and php-fpm), its own releases/shared/current tree and its
own sshd, inside its own network namespace; the hosts reach MariaDB on the bridge's address.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from premortem.errors import PremortemError
from premortem.ops.fleet.playbooks.library import premortem_haproxy as runtime
from premortem.ops.lab import mariadb, wordpress
from premortem.ops.lab.core import Lab, LabState, Progress, _stderr
from premortem.ops.lab.fleet import haproxy, network, sshd
from premortem.ops.lab.fleet.inventory import InventoryHost, InventoryVars, render_inventory
from premortem.ops.lab.layout import LabPaths
from premortem.ops.lab.procs import free_port, port_is_free
from premortem.ops.packages import FLEET_PACKAGES, LAB_PACKAGES, ensure_packages
from premortem.siteconfig import (
    BalancerConfig,
    SiteConfig,
    read_site_config,
    write_site_config,
)


def is_fleet(lab_dir: Path) -> bool:
    return (Path(lab_dir) / "fleet.json").exists()


@dataclass
class FleetState:
    hosts: int
    port: int
    server: str
    id: str
    subnet: str
    db_port: int

    @classmethod
    def load(cls, path: Path) -> FleetState | None:
        if not path.exists():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise PremortemError(f"the fleet's state file {path} is damaged: {exc}") from None

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)

    @property
    def network(self) -> network.FleetNetwork:
        return network.FleetNetwork(self.id, self.subnet)


@dataclass(frozen=True)
class FleetHost:
    """One web host: its place on the network, its lab dir, its sshd's files."""

    link: network.HostLink
    dir: Path

    @property
    def name(self) -> str:
        return self.link.name

    @property
    def lab(self) -> Lab:
        return Lab(self.dir, progress=lambda _message: None)

    @property
    def ssh_dir(self) -> Path:
        return self.dir / "ssh"

    @property
    def sshd_config(self) -> Path:
        return self.ssh_dir / "sshd_config"

    @property
    def sshd_pid(self) -> Path:
        return self.ssh_dir / "sshd.pid"

    @property
    def host_key(self) -> Path:
        return self.ssh_dir / "ssh_host_ed25519_key"


def premortem_command() -> list[str]:
    """This premortem, as a command another process (or namespace) can run."""
    return [sys.executable, "-m", "premortem"]


def premortem_bin() -> str:
    """The premortem script of this installation, for the inventory's premortem_bin."""
    beside = Path(sys.executable).parent / "premortem"
    return str(beside) if beside.exists() else shutil.which("premortem") or "premortem"


class Fleet:
    def __init__(self, dir: Path, progress: Progress | None = None) -> None:
        self.dir = Path(os.path.abspath(dir))
        self.progress: Progress = progress or _stderr
        self.db_paths = LabPaths(self.dir / "db")

    # -- paths and accessors -----------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.dir / "fleet.json"

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory.ini"

    @property
    def ssh_dir(self) -> Path:
        return self.dir / "ssh"

    @property
    def private_key(self) -> Path:
        return self.ssh_dir / "id_ed25519"

    @property
    def haproxy_dir(self) -> Path:
        return self.dir / "haproxy"

    @property
    def haproxy_socket(self) -> Path:
        return self.haproxy_dir / "admin.sock"

    @property
    def haproxy_pid(self) -> Path:
        return self.haproxy_dir / "haproxy.pid"

    @property
    def haproxy_log(self) -> Path:
        return self.haproxy_dir / "haproxy.log"

    @property
    def config_path(self) -> Path:
        """The fleet config (premortem.toml with a [balancer] table)."""
        return self.dir / "premortem.toml"

    @property
    def state(self) -> FleetState | None:
        return FleetState.load(self.state_file)

    def _require_state(self) -> FleetState:
        state = self.state
        if state is None:
            raise PremortemError(f"no fleet lab at {self.dir}: `premortem lab up --hosts N`")
        return state

    def hosts(self, state: FleetState | None = None) -> list[FleetHost]:
        state = state or self._require_state()
        return [
            FleetHost(state.network.host(i), self.dir / "hosts" / network.host_name(i))
            for i in range(1, state.hosts + 1)
        ]

    def host(self, name: str) -> FleetHost:
        for host in self.hosts():
            if host.name == name:
                return host
        names = ", ".join(h.name for h in self.hosts())
        raise PremortemError(f"the fleet lab has no host {name!r} (hosts: {names})")

    @property
    def url(self) -> str:
        state = self.state
        return f"http://127.0.0.1:{state.port if state else 0}/"

    @contextlib.contextmanager
    def _step(self, what: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.progress(f"  {what} ({time.monotonic() - started:.2f}s)")

    # -- up ------------------------------------------------------------------------------

    def up(self, hosts: int, port: int, server: str | None = None) -> dict[str, Any]:
        """Bring the whole fleet up (making what is missing); idempotent."""
        if os.geteuid() != 0:
            raise PremortemError("`lab up --hosts` needs root (namespaces, links, daemons)")
        started = time.monotonic()
        self.progress(f"fleet lab up: {self.dir} ({hosts} hosts)")
        with self._step("packages present"):
            ensure_packages(LAB_PACKAGES + FLEET_PACKAGES)
        state = self._state_for_up(hosts, port, server)
        with self._step(f"network {state.subnet} on bridge {state.network.bridge}"):
            network.create_bridge(state.network)
            for index in range(1, state.hosts + 1):
                network.create_host(state.network, index)
        password = self._start_database(state)
        self._start_sshds(state)
        for host in self.hosts(state):
            with self._step(f"{host.name}: {state.server} on {host.link.address}:{state.port}"):
                self._host_up(state, host, password)
        with self._step("WordPress's address is the balancer's"):
            first = self.hosts(state)[0]
            wordpress.install(
                first.lab.paths,
                first.lab.release_dir,
                self.url,
                first.lab._secret(first.lab.paths.admin_password_file),
            )
        self._start_haproxy(state)
        self._write_inventory(state)
        self._write_fleet_config(state)
        self.progress(f"fleet lab up at {self.url} in {time.monotonic() - started:.1f}s")
        return self.status()

    def _state_for_up(self, hosts: int, port: int, server: str | None) -> FleetState:
        state = self.state
        if state is not None:
            if state.hosts != hosts or (server and server != state.server):
                raise PremortemError(
                    f"the fleet lab at {self.dir} has {state.hosts} {state.server} hosts; "
                    f"`premortem lab destroy --dir {self.dir}` first, or use another --dir"
                )
            if haproxy.pid(self.haproxy_pid) is None and not port_is_free(state.port):
                raise PremortemError(f"port {state.port} on 127.0.0.1 is already in use")
            return state
        if hosts < 1 or hosts > 40:
            raise PremortemError("--hosts: between 1 and 40 hosts")
        if not port_is_free(port):
            raise PremortemError(f"port {port} on 127.0.0.1 is in use; pick another with --port")
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        fleet_id = network.fleet_id(self.dir)
        state = FleetState(
            hosts=hosts,
            port=port,
            server=server or "apache",
            id=fleet_id,
            subnet=network.pick_subnet(fleet_id, network.used_networks()),
            db_port=free_port(),
        )
        state.save(self.state_file)
        return state

    def _start_database(self, state: FleetState) -> str:
        """The fleet's MariaDB on 127.0.0.1 and the bridge; WordPress's user for the hosts."""
        p = self.db_paths
        bridge = state.network.bridge_address
        with self._step(f"MariaDB on {bridge}:{state.db_port}"):
            for d in (p.root, p.logs):
                d.mkdir(parents=True, exist_ok=True)
            p.state.mkdir(mode=0o700, exist_ok=True)
            p.mariadb_dir.mkdir(mode=0o750, exist_ok=True)
            shutil.chown(p.mariadb_dir, "mysql", "mysql")
            p.mariadb_log.touch(exist_ok=True)
            shutil.chown(p.mariadb_log, "mysql", "adm")
            p.my_cnf.write_text(mariadb.render_my_cnf(p, state.db_port, f"127.0.0.1,{bridge}"))
            password = Lab(p.root)._secret(p.db_password_file)
            if not mariadb.initialised(p):
                mariadb.install_db(p)
            mariadb.start(p, state.db_port)
            mariadb.create_database(p, password)
            hosts = state.subnet.rsplit(".", 1)[0] + ".%"
            mariadb.run_sql(p, grant_sql(hosts, password))
        return password

    def _start_sshds(self, state: FleetState) -> None:
        with self._step("sshd on every host"):
            sshd.generate_key(self.private_key, f"premortem-fleet-lab@{state.id}")
            authorized = self.ssh_dir / "authorized_keys"
            authorized.write_text(self.private_key.with_suffix(".pub").read_text())
            known: list[str] = []
            for host in self.hosts(state):
                host.ssh_dir.mkdir(parents=True, exist_ok=True)
                os.chmod(host.ssh_dir, 0o700)
                sshd.generate_key(host.host_key, host.name)
                host.sshd_config.write_text(
                    sshd.render_sshd_config(
                        host.link.address, host.host_key, host.sshd_pid, authorized
                    )
                )
                sshd.start(
                    host.link.namespace,
                    host.sshd_config,
                    host.sshd_pid,
                    host.ssh_dir / "sshd.log",
                    host.link.address,
                )
                known.append(sshd.known_hosts_line(host.link.address, host.host_key))
            (self.ssh_dir / "known_hosts").write_text("".join(known))

    def _host_up(self, state: FleetState, host: FleetHost, password: str) -> None:
        """The host's lab, told its address and the fleet's database, up in its namespace."""
        paths = host.lab.paths
        if not paths.lab_json.exists():
            LabState(
                port=state.port,
                db_port=state.db_port,
                server=state.server,
                address=host.link.address,
                db_host=state.network.bridge_address,
            ).save(paths.lab_json)
            os.chmod(paths.state, 0o700)
        if not paths.db_password_file.exists():
            fd = os.open(paths.db_password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(password + "\n")
        if not paths.shared_wp_config.exists():
            paths.shared.mkdir(parents=True, exist_ok=True)
            self._share_wp_config(state, paths, password)
        self.in_host(host, ["lab", "up", "--dir", str(host.dir), "--port", str(state.port)])

    def _share_wp_config(self, state: FleetState, paths: LabPaths, password: str) -> None:
        """One wp-config.php for every host (same keys and salts: a login works on all)."""
        first = self.hosts(state)[0].lab.paths
        if first.shared_wp_config.exists():
            paths.shared_uploads.mkdir(parents=True, exist_ok=True)
            shutil.chown(paths.shared_uploads, "www-data", "www-data")
            shutil.copy2(first.shared_wp_config, paths.shared_wp_config)
            shutil.chown(paths.shared_wp_config, "root", "www-data")
        else:
            bridge = state.network.bridge_address
            wordpress.write_shared(paths, state.db_port, password, bridge)

    def in_host(self, host: FleetHost, args: list[str]) -> None:
        """Run `premortem ARGS` inside the host's namespace (as the host's own admin would)."""
        command = network.in_namespace(host.link.namespace, [*premortem_command(), *args])
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-8:])
            raise PremortemError(f"{host.name}: premortem {' '.join(args[:2])} failed:\n{tail}")

    def _start_haproxy(self, state: FleetState) -> None:
        with self._step(f"HAProxy on 127.0.0.1:{state.port}, every host UP"):
            self.haproxy_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.haproxy_dir, 0o700)
            config = self.haproxy_dir / "haproxy.cfg"
            backends = [
                haproxy.Backend(h.name, h.link.address, state.port) for h in self.hosts(state)
            ]
            config.write_text(
                haproxy.render_haproxy_cfg(
                    state.port, backends, self.haproxy_pid, self.haproxy_socket
                )
            )
            haproxy.start(config, self.haproxy_pid, state.port, self.haproxy_log)
            for host in self.hosts(state):
                runtime.ready(str(self.haproxy_socket), haproxy.BACKEND, host.name, timeout=20)

    def _write_inventory(self, state: FleetState) -> None:
        hosts = [
            InventoryHost(h.name, h.link.address, h.lab.config_path) for h in self.hosts(state)
        ]
        variables = InventoryVars(
            private_key=self.private_key,
            known_hosts=self.ssh_dir / "known_hosts",
            premortem_bin=premortem_bin(),
            haproxy_socket=self.haproxy_socket,
            haproxy_backend=haproxy.BACKEND,
            lb_url=self.url,
        )
        self.inventory.write_text(render_inventory(hosts, variables))

    def _write_fleet_config(self, state: FleetState) -> None:
        """DIR/premortem.toml: what `premortem watch --config` needs to watch at the
        balancer, and `report` to merge every host's events."""
        stores = {}
        for host in self.hosts(state):
            with contextlib.suppress(PremortemError):
                stores[host.name] = str(read_site_config(host.lab.config_path).path_of_state)
        config = SiteConfig(
            url=self.url,
            site_root="",
            docroot="",
            server=state.server,
            access_log=str(self.haproxy_log),
            access_log_format="haproxy",
            state_dir=str(self.dir / "state"),
            smoke_paths=["/"],
            balancer=BalancerConfig(
                admin_socket=str(self.haproxy_socket),
                backend=haproxy.BACKEND,
                inventory=str(self.inventory),
                event_stores=stores,
            ),
        )
        header = "# The fleet lab's config: `premortem watch --config` this file watches at\n"
        header += "# the balancer (HAProxy's log and runtime API). Written by `lab up --hosts`.\n"
        write_site_config(config, self.config_path, header=header)

    # -- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """`lab status` of the fleet: the first host's fields, with the balancer's url,
        plus `hosts` and `inventory`."""
        state = self._require_state()
        hosts = self.hosts(state)
        statuses = [h.lab.status() for h in hosts]
        haproxy_pid = haproxy.pid(self.haproxy_pid)
        db_pid = mariadb.pid(self.db_paths)
        sshd_pids = [sshd.pid(h.sshd_pid) for h in hosts]
        running = (
            all(s.running for s in statuses)
            and haproxy_pid is not None
            and db_pid is not None
            and None not in sshd_pids
        )
        faults = [f"{h.name}: {s.fault}" for h, s in zip(hosts, statuses, strict=True) if s.fault]
        result = statuses[0].to_dict()
        result.update(
            url=self.url,
            dir=str(self.dir),
            running=running,
            port=state.port,
            db_port=state.db_port,
            db_running=db_pid is not None,
            fault="; ".join(faults) or None,
            pids={
                "haproxy": [haproxy_pid] if haproxy_pid else [],
                "mariadb": [db_pid] if db_pid else [],
                "sshd": [pid for pid in sshd_pids if pid],
            },
            inventory=str(self.inventory),
            balancer_socket=str(self.haproxy_socket),
            access_log=str(self.haproxy_log),
            config=str(self.config_path),
            subnet=state.subnet,
            bridge=state.network.bridge,
            hosts=[self._host_dict(h, s) for h, s in zip(hosts, statuses, strict=True)],
        )
        return result

    @staticmethod
    def _host_dict(host: FleetHost, status: Any) -> dict[str, Any]:
        return {
            "name": host.name,
            "address": host.link.address,
            "url": status.url,
            "namespace": host.link.namespace,
            "dir": str(host.dir),
            "config": status.config,
            "running": status.running,
            "release": status.release,
            "fault": status.fault,
            "pids": status.pids,
        }

    # -- faults --------------------------------------------------------------------------

    def break_scenario(self, scenario: str, host_name: str | None) -> None:
        if host_name is None:
            raise PremortemError("a fleet lab breaks one host: name it with --host web-NN")
        host = self.host(host_name)
        self.in_host(host, ["lab", "break", scenario, "--dir", str(host.dir)])
        self.progress(f"  {host.name}: {scenario} injected")

    def repair(self) -> list[str]:
        repaired: list[str] = []
        for host in self.hosts():
            if host.lab.status().fault:
                self.in_host(host, ["lab", "repair", "--dir", str(host.dir)])
                repaired.append(host.name)
                self.progress(f"  {host.name}: repaired")
        return repaired

    # -- down / destroy ------------------------------------------------------------------

    def down(self) -> None:
        """Stop every process of the fleet and remove its network (the data stays)."""
        if os.geteuid() != 0:
            raise PremortemError("`lab down` of a fleet lab needs root")
        state = self._require_state()
        with self._step("HAProxy stopped"):
            haproxy.stop(self.haproxy_pid)
        for host in self.hosts(state):
            with self._step(f"{host.name} stopped"):
                host.lab.down()
                # sshd, its sessions, whatever else runs there (e.g. a deploy's stage server).
                network.stop_namespace_processes(host.link.namespace)
                network.remove_host(host.link)
        with self._step("MariaDB stopped, bridge removed"):
            mariadb.stop(self.db_paths)
            network.remove_bridge(state.network)

    def destroy(self) -> None:
        if not self.dir.exists():
            self.progress(f"no lab dir at {self.dir}")
            return
        self.down()
        with self._step(f"removed {self.dir}"):
            shutil.rmtree(self.dir)

    # -- traffic -------------------------------------------------------------------------

    def get(self, path: str = "/", timeout: float = 10.0) -> httpx.Response:
        with httpx.Client(trust_env=False, timeout=timeout, follow_redirects=False) as client:
            return client.get(self.url.rstrip("/") + path)


def grant_sql(host_pattern: str, password: str) -> str:
    """WordPress's database user for connections from the fleet's hosts (host_pattern)."""
    user = f"'{mariadb.DB_USER}'@'{host_pattern}'"
    return (
        f"CREATE USER IF NOT EXISTS {user} IDENTIFIED BY '{password}';\n"
        f"ALTER USER {user} IDENTIFIED BY '{password}';\n"
        f"GRANT ALL PRIVILEGES ON `{mariadb.DB_NAME}`.* TO {user};\n"
        "FLUSH PRIVILEGES;\n"
    )
