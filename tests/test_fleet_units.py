"""The fleet lab's generated files and helpers, without starting anything: the Ansible
inventory (read back by Ansible's own parser), HAProxy's config, sshd's config, the subnet
choice, link names, and the runtime API's `show stat` parsing."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from premortem.ops.fleet.ansible import playbook_dir
from premortem.ops.fleet.playbooks.library.premortem_haproxy import parse_stats
from premortem.ops.fleet.rollout import (
    FleetDeployResult,
    HostOutcome,
    _stop,
    archive,
    batches_of,
)
from premortem.ops.lab.fleet import haproxy, network, sshd
from premortem.ops.lab.fleet.core import grant_sql
from premortem.ops.lab.fleet.inventory import InventoryHost, InventoryVars, render_inventory


def _inventory(tmp_path: Path) -> Path:
    hosts = [
        InventoryHost(f"web-0{i}", f"10.213.7.1{i}", tmp_path / f"web-0{i}" / "premortem.toml")
        for i in (1, 2, 3)
    ]
    variables = InventoryVars(
        private_key=tmp_path / "ssh" / "id_ed25519",
        known_hosts=tmp_path / "ssh" / "known_hosts",
        premortem_bin="/opt/premortem/bin/premortem",
        haproxy_socket=tmp_path / "haproxy" / "admin.sock",
        haproxy_backend="web",
        lb_url="http://127.0.0.1:18080/",
    )
    path = tmp_path / "inventory.ini"
    path.write_text(render_inventory(hosts, variables))
    return path


def test_inventory_is_read_by_ansible_with_every_host_and_var(tmp_path: Path) -> None:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(_inventory(tmp_path))])
    names = [host.name for host in inventory.get_hosts("web")]
    assert names == ["web-01", "web-02", "web-03"]
    variables = VariableManager(loader=loader, inventory=inventory).get_vars(
        host=inventory.get_host("web-02")
    )
    assert variables["ansible_host"] == "10.213.7.12"
    assert variables["ansible_user"] == "root"
    assert variables["ansible_ssh_private_key_file"] == str(tmp_path / "ssh" / "id_ed25519")
    assert variables["ansible_ssh_common_args"] == (
        f"-o UserKnownHostsFile={tmp_path / 'ssh' / 'known_hosts'}"
    )
    assert variables["premortem_config"] == str(tmp_path / "web-02" / "premortem.toml")
    assert variables["haproxy_socket"] == str(tmp_path / "haproxy" / "admin.sock")
    assert variables["haproxy_backend"] == "web"


def test_haproxy_config_fronts_every_host_with_checks_and_an_admin_socket(tmp_path: Path) -> None:
    backends = [haproxy.Backend("web-01", "10.213.7.11", 18080)]
    backends.append(haproxy.Backend("web-02", "10.213.7.12", 18080))
    text = haproxy.render_haproxy_cfg(
        18080, backends, tmp_path / "haproxy.pid", tmp_path / "admin.sock"
    )
    assert "bind 127.0.0.1:18080" in text
    assert f"stats socket {tmp_path / 'admin.sock'} mode 600 level admin" in text
    assert "option httpchk GET /readme.html" in text
    assert "default-server check" in text
    assert "    server web-01 10.213.7.11:18080" in text
    assert "    server web-02 10.213.7.12:18080" in text
    assert f"pidfile {tmp_path / 'haproxy.pid'}" in text


def test_sshd_config_listens_only_on_the_host_address_and_takes_only_keys(tmp_path: Path) -> None:
    text = sshd.render_sshd_config(
        "10.213.7.11", tmp_path / "key", tmp_path / "sshd.pid", tmp_path / "authorized_keys"
    )
    lines = text.splitlines()
    assert "ListenAddress 10.213.7.11:22" in lines
    assert [line for line in lines if line.startswith("ListenAddress")] == [
        "ListenAddress 10.213.7.11:22"
    ]
    assert "PasswordAuthentication no" in lines
    assert "PermitRootLogin prohibit-password" in lines
    assert f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}" in lines


def test_subnet_avoids_every_network_in_use() -> None:
    seed = "000000"
    first = network.pick_subnet(seed, [])
    assert first == "10.200.0.0/24"
    used = [ipaddress.IPv4Network("10.200.0.0/23"), ipaddress.IPv4Network("10.0.0.0/9")]
    chosen = ipaddress.IPv4Network(network.pick_subnet(seed, used))
    assert not any(chosen.overlaps(net) for net in used)
    assert chosen == ipaddress.IPv4Network("10.200.2.0/24")
    assert chosen.is_private


def test_link_names_fit_the_kernel_limit_and_addresses_follow_the_bridge() -> None:
    net = network.FleetNetwork(network.fleet_id(Path("/tmp/some/fleet")), "10.213.7.0/24")
    assert len(net.bridge) <= 15
    assert net.bridge_address == "10.213.7.1"
    host = net.host(12)
    assert host.name == "web-12"
    assert len(host.veth) <= 15
    assert host.address == "10.213.7.22"
    assert net.host(1).address == "10.213.7.11"
    assert net.id in host.namespace


def test_show_stat_is_parsed_per_server() -> None:
    header = (
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,"
        "wretr,wredis,status,weight,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other"
    )
    rows = [
        "www,FRONTEND,,,1,2,1024,40,0,0,0,0,0,,,,,OPEN,,0,30,0,0,10,0",
        "web,web-01,0,0,0,1,,20,0,0,,0,,0,0,0,0,UP,1,0,20,0,0,0,0",
        "web,web-02,0,0,2,3,,20,0,0,,0,,1,0,0,0,DRAIN,1,0,10,0,0,9,0",
        "web,BACKEND,0,0,2,3,,40,0,0,0,0,,1,0,0,0,UP,2,0,30,0,0,9,0",
    ]
    stats = parse_stats("\n".join([header, *rows]) + "\n\n")
    assert [(s.server, s.status) for s in stats] == [("web-01", "UP"), ("web-02", "DRAIN")]
    assert stats[1].sessions == 2
    assert stats[1].responses == 19
    assert stats[1].errors == 10  # 9 answers 5xx and one failed connection


def test_grant_lets_wordpress_in_from_the_fleet_subnet_only() -> None:
    sql = grant_sql("10.213.7.%", "secret")
    assert "'wordpress'@'10.213.7.%'" in sql
    assert "GRANT ALL PRIVILEGES ON `wordpress`.*" in sql


def test_rollout_batches_put_the_canary_first() -> None:
    hosts = ["web-01", "web-02", "web-03", "web-04", "web-05"]
    assert batches_of(hosts, 1, 2) == [["web-01"], ["web-02", "web-03"], ["web-04", "web-05"]]
    assert batches_of(hosts, 2, 5) == [["web-01", "web-02"], ["web-03", "web-04", "web-05"]]
    assert batches_of(["web-01"], 1, 1) == [["web-01"]]


def test_a_stopped_host_deploy_is_named_with_its_own_reason() -> None:
    result = FleetDeployResult(hosts=[HostOutcome("web-01", "failed")])
    stdout = '{"outcome": "stopped", "stopped_at": "stage", "reason": "GET / answered 500"}'
    report = {"host": "web-01", "ok": False, "task": "premortem deploy", "deploy": stdout}
    _stop(result, ["web-01"], {"web-01": report}, [])
    assert result.failed_host == "web-01"
    assert result.failed_step == "premortem deploy"
    assert result.reason == "premortem deploy stage: GET / answered 500"


def test_the_playbooks_ship_with_the_package_and_parse() -> None:
    import yaml

    for name in ("deploy.yml", "rollback.yml", "releases.yml"):
        plays = yaml.safe_load((playbook_dir() / name).read_text())
        assert plays[0]["hosts"] == "{{ premortem_hosts | default('web') }}"
    assert (playbook_dir() / "library" / "premortem_haproxy.py").is_file()


def test_a_host_that_deployed_and_then_failed_is_named_with_the_watch_reason() -> None:
    result = FleetDeployResult(hosts=[HostOutcome("web-02", "failed")])
    stdout = '{"outcome": "deployed", "stopped_at": null, "reason": ""}'
    msg = "web-02: 9 of 40 answers failed (above 5%)"
    report = {"ok": False, "task": "watch it under real traffic", "deploy": stdout, "msg": msg}
    _stop(result, ["web-02"], {"web-02": report}, [])
    assert result.reason == msg


def test_two_rollouts_in_one_second_unpack_into_different_directories(tmp_path: Path) -> None:
    # The playbook unpacks into /tmp/premortem-upload-<host>-<archive name>: two rollouts
    # started in the same second (CI runs two fleet labs at once) removed each other's files.
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.php").write_text("<?php echo 1;\n")
    names = set()
    for n in range(2):
        into = tmp_path / f"out{n}"
        into.mkdir()
        names.add(archive(src, into).name)
    assert len(names) == 2, names
    assert all(name.endswith(".tar.gz") and name.startswith("20") for name in names)
