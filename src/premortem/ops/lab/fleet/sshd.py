"""One sshd per fleet host: Debian's binary with the host's own config and host key,
listening only on the host's namespace address, letting in only the lab's key (as root).

Never /etc/ssh's config or keys, never the system's ssh service.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from premortem.errors import PremortemError
from premortem.ops.lab.fleet.network import in_namespace
from premortem.ops.lab.procs import launch_listening, running_pid

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
SSHD_NAMES = ("sshd",)
# sshd's compiled-in privilege-separation directory (Debian makes it at boot for its own
# service; a machine that never ran that service lacks it).
PRIVSEP_DIR = Path("/run/sshd")


def generate_key(path: Path, comment: str) -> None:
    """An ed25519 key pair at path and path.pub (kept when it exists)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise PremortemError(f"ssh-keygen failed for {path}: {proc.stderr.strip()}")
    os.chmod(path, 0o600)


def render_sshd_config(
    address: str, host_key: Path, pid_file: Path, authorized_keys: Path, port: int = 22
) -> str:
    return f"""# Written by `premortem lab up --hosts`: this fleet host's own sshd (never /etc/ssh).
ListenAddress {address}:{port}
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The lab's files live under a temporary or world-searchable dir (e.g. /tmp, mode 1777),
# which strict mode refuses for authorized_keys; only the lab writes them.
StrictModes no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp internal-sftp
"""


def known_hosts_line(address: str, host_key: Path) -> str:
    """The known_hosts entry for this host (its public host key at its address)."""
    kind, blob = host_key.with_name(host_key.name + ".pub").read_text().split()[:2]
    return f"{address} {kind} {blob}\n"


def pid(pid_file: Path) -> int | None:
    return running_pid(pid_file, SSHD_NAMES)


def start(namespace: str, config: Path, pid_file: Path, log: Path, address: str) -> int:
    """Start the host's sshd inside its namespace (it daemonizes); its PID once it listens."""
    running = pid(pid_file)
    if running is not None:
        return running
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    test = subprocess.run(
        [SSHD, "-t", "-f", str(config)], capture_output=True, text=True, check=False
    )
    if test.returncode != 0:
        raise PremortemError(f"sshd refuses {config}: {test.stderr.strip()}")
    return launch_listening(
        "sshd",
        in_namespace(namespace, [SSHD, "-f", str(config), "-E", str(log)]),
        (address, 22),
        lambda: pid(pid_file),
        pid_file,
        where=f" in {namespace}",
        log_hint=f" (log: {log})",
    )
