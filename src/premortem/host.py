"""The machine premortem looks at: processes, sockets, limits, services, files, identity, clock.

Collectors reach the outside world through one `Host` passed down from `main()`, so a test can
hand them a `RecordedHost` (processes and sockets as data) and get the same answer on any
machine, whatever runs on it. `LocalHost` is the real one (psutil, os, time). Read-only.

Files too: `stat()` (lstat, stat and readlink in one answer), bounded reads, `listdir()`,
`realpath()` and users' identities, so diagnose's file collector can run on a host given as
data. A path holding a NUL byte (or a character no file name can hold) names no file: every
file method answers "no such file" for it, never an exception, so a bad path read from a
log or a recording stops at the host instead of in each caller.
"""

from __future__ import annotations

import errno
import glob
import grp
import os
import posixpath
import pwd
import shutil
import stat as stat_module
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil

from premortem.model import FileStat, UserIdentity
from premortem.owners import group_name, user_name

# Tries of psutil's scan of listening sockets (see LocalHost.listening).
LISTENING_ATTEMPTS = 3


@dataclass(frozen=True)
class ProcessInfo:
    """One process as collectors need it (a zombie has exited: it serves nothing)."""

    pid: int
    ppid: int
    name: str
    cmdline: tuple[str, ...] = ()
    username: str = ""
    zombie: bool = False


@dataclass(frozen=True)
class ListeningSocket:
    """A TCP socket in LISTEN state; `pid` is None when the kernel does not say whose."""

    pid: int | None
    ip: str
    port: int


@dataclass(frozen=True)
class DescriptorUse:
    """A process's open descriptors (None: may not be counted) and its soft RLIMIT_NOFILE."""

    open_fds: int | None
    soft_limit: int


# The server and database programs whose presence says what is installed.
SERVICE_PROGRAMS = ("apache2", "httpd", "apache2ctl", "apachectl", "nginx", "mariadbd", "mysqld")


@dataclass(frozen=True)
class ServiceManager:
    """How this machine starts services, and which server programs it has.

    `systemd` when /run/systemd/system exists (systemctl works); else `service_tool`
    (/usr/sbin/service) runs the SysV scripts named in `init_scripts` (/etc/init.d);
    `programs` are the absolute paths of the server binaries found (apache2, nginx, php-fpm...).
    """

    systemd: bool = False
    service_tool: str = ""
    init_scripts: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    # Debian's php-fpm service configs (/etc/php/VERSION/fpm/php-fpm.conf).
    php_fpm_configs: tuple[str, ...] = ()

    def command(self, service: str, verb: str, direct: str) -> str:
        """`verb` (start, reload, restart) `service` the way this host can; `direct` (the
        program itself) when it has neither systemd nor an init script for it."""
        if self.systemd:
            return f"systemctl {verb} {service}"
        if self.service_tool and service in self.init_scripts:
            return f"service {service} {verb}"
        return direct

    def program(self, *names: str) -> str:
        """The path of the first of `names` this host has ("" when none)."""
        for name in names:
            for path in self.programs:
                if os.path.basename(path) == name:
                    return path
        return ""


@dataclass(frozen=True)
class DiskSpace:
    """statvfs of a file system: bytes and inodes, total and free to unprivileged users."""

    total_bytes: int
    free_bytes: int
    total_inodes: int
    free_inodes: int
    device: int = 0


@dataclass(frozen=True)
class CommandResult:
    """What a read-only check command (a config test) printed and how it exited."""

    command: tuple[str, ...]
    returncode: int
    output: str


class Host(ABC):
    """What collectors may ask of a machine. Every method answers; none raises for a
    process that vanished or that may not be inspected (it answers empty instead)."""

    @abstractmethod
    def processes(self) -> list[ProcessInfo]: ...

    @abstractmethod
    def listening(self) -> list[ListeningSocket]: ...

    @abstractmethod
    def environ(self, pid: int) -> dict[str, str]: ...

    @abstractmethod
    def descriptors(self, pid: int) -> DescriptorUse | None: ...

    @abstractmethod
    def stderr_file(self, pid: int) -> str: ...

    def stdout_file(self, pid: int) -> str:
        """The file a process writes its stdout to ("" when not a file, or unknown)."""
        return ""

    @abstractmethod
    def memory(self) -> tuple[int, int]:
        """(total, available) bytes of memory."""

    @abstractmethod
    def service_manager(self) -> ServiceManager: ...

    @abstractmethod
    def run_check(self, command: tuple[str, ...], env: dict[str, str]) -> CommandResult | None:
        """Run a read-only check (`nginx -t`, `apache2ctl -t`); None when it cannot run."""

    @abstractmethod
    def is_root(self) -> bool: ...

    @abstractmethod
    def now(self) -> float: ...

    @abstractmethod
    def pause(self, seconds: float) -> None:
        """Let `seconds` pass before looking again."""

    # Files, read-only. None of these raises: what cannot be read answers empty.
    # True when the paths are this machine's own, so php/ (which reads files itself) may
    # resolve includes in them; False for a host given as data.
    local_files: bool = False

    @abstractmethod
    def stat(self, path: str) -> FileStat:
        """lstat + stat + readlink of `path` in one answer."""

    @abstractmethod
    def read_bytes(self, path: str, limit: int) -> bytes | None:
        """At most `limit` bytes from the start of a regular file; None when unreadable."""

    @abstractmethod
    def listdir(self, path: str) -> list[str] | None: ...

    @abstractmethod
    def realpath(self, path: str) -> str: ...

    @abstractmethod
    def user(self, name: str) -> UserIdentity | None:
        """`name`'s uid and groups (None: no such user)."""

    @abstractmethod
    def disk_usage(self, path: str) -> DiskSpace | None:
        """The file system holding `path` (None: it cannot be looked at)."""

    @abstractmethod
    def read_tail(self, path: str, limit: int) -> tuple[bytes | None, str]:
        """The last `limit` bytes of a file from a line start (a log), or (None, why not)."""

    @abstractmethod
    def walk(self, root: str, skip: tuple[str, ...] = ()) -> Iterator[tuple[str, float]]:
        """Every file below `root` (symlinks not followed, directories named in `skip`
        left out): its path relative to `root` and its lstat mtime. The caller bounds it."""

    def same_content(self, one: str, other: str) -> bool | None:
        """Whether two files hold the same bytes (their first MAX_COMPARED bytes; None: one
        cannot be read)."""
        first, second = self.read_bytes(one, MAX_COMPARED), self.read_bytes(other, MAX_COMPARED)
        return None if first is None or second is None else first == second

    def exists(self, path: str) -> bool:
        return self.stat(path).exists

    def readlink(self, path: str) -> str | None:
        found = self.stat(path)
        return found.link_target if found.is_link else None

    def read_lines(self, path: str, limit: int) -> list[str] | None:
        """The lines of a text file's first `limit` bytes (bytes that are not UTF-8 are
        replaced); None when unreadable."""
        data = self.read_bytes(path, limit)
        return None if data is None else data.decode("utf-8", errors="replace").splitlines()

    def blocking(self, path: str, user: UserIdentity) -> tuple[str, str] | None:
        """As `user`: the first directory of `path` it cannot search ("x"), or the file it
        cannot read ("r"); None when nothing in the chain blocks (or it cannot be known)."""
        return first_blocking([self.stat(p) for p in path_chain(path)], user)

    def process(self, pid: int) -> ProcessInfo | None:
        return next((p for p in self.processes() if p.pid == pid), None)

    def descendants(self, pid: int) -> list[ProcessInfo]:
        """Every living process below `pid` (children, their children...)."""
        by_parent: dict[int, list[ProcessInfo]] = {}
        for proc in self.processes():
            by_parent.setdefault(proc.ppid, []).append(proc)
        found: list[ProcessInfo] = []
        todo = [pid]
        while todo:
            for child in by_parent.get(todo.pop(), []):
                if child.pid not in (p.pid for p in found):
                    found.append(child)
                    todo.append(child.pid)
        return [p for p in found if not p.zombie]

    def top_of_program(self, pid: int) -> ProcessInfo | None:
        """The topmost ancestor of `pid` running the same program: the master of a worker."""
        by_pid = {p.pid: p for p in self.processes()}
        proc = by_pid.get(pid)
        while proc is not None:
            parent = by_pid.get(proc.ppid)
            if parent is None or parent.name != proc.name:
                return proc
            proc = parent
        return None


class LocalHost(Host):
    """This machine, through psutil and os."""

    def processes(self) -> list[ProcessInfo]:
        found = []
        for proc in psutil.process_iter(["ppid", "name", "cmdline", "username", "status"]):
            info = proc.info
            found.append(
                ProcessInfo(
                    pid=proc.pid,
                    ppid=info.get("ppid") or 0,
                    name=info.get("name") or "",
                    cmdline=tuple(info.get("cmdline") or ()),
                    username=info.get("username") or "",
                    zombie=info.get("status") == psutil.STATUS_ZOMBIE,
                )
            )
        return found

    def listening(self) -> list[ListeningSocket]:
        # psutil reads every process's descriptors: one that ends during the scan can fail
        # the whole call on a busy host, which looked like "no server listening" (CI, 3
        # test workers starting and stopping labs). Asked again before giving up.
        for attempt in range(LISTENING_ATTEMPTS):
            try:
                connections = psutil.net_connections(kind="inet")
                break
            except (psutil.Error, OSError):
                if attempt == LISTENING_ATTEMPTS - 1:
                    return []
                time.sleep(0.05)
        return [
            ListeningSocket(c.pid, c.laddr.ip, c.laddr.port)
            for c in connections
            if c.status == psutil.CONN_LISTEN and c.laddr
        ]

    def environ(self, pid: int) -> dict[str, str]:
        try:
            return dict(psutil.Process(pid).environ())
        except (psutil.Error, OSError):
            return {}

    def descriptors(self, pid: int) -> DescriptorUse | None:
        # /proc/PID/limits is world-readable; prlimit() needs CAP_SYS_RESOURCE for another
        # user's process, which root lacks in many containers.
        try:
            with open(f"/proc/{pid}/limits", encoding="ascii") as limits:
                soft = soft_open_files(limits.read())
        except OSError:
            return None
        if soft is None:
            return None
        try:
            open_fds: int | None = psutil.Process(pid).num_fds()
        except (psutil.Error, OSError):
            open_fds = None
        return DescriptorUse(open_fds, soft)

    def stderr_file(self, pid: int) -> str:
        return _open_file(pid, 2)

    def stdout_file(self, pid: int) -> str:
        return _open_file(pid, 1)

    def memory(self) -> tuple[int, int]:
        memory = psutil.virtual_memory()
        return memory.total, memory.available

    def service_manager(self) -> ServiceManager:
        try:
            scripts = tuple(sorted(os.listdir("/etc/init.d")))
        except OSError:
            scripts = ()
        found = [shutil.which(name, path=PROGRAM_PATH) for name in SERVICE_PROGRAMS]
        found += sorted(glob.glob("/usr/sbin/php-fpm*"))
        return ServiceManager(
            php_fpm_configs=tuple(sorted(glob.glob("/etc/php/*/fpm/php-fpm.conf"))),
            systemd=os.path.isdir("/run/systemd/system"),
            service_tool=shutil.which("service", path=PROGRAM_PATH) or "",
            init_scripts=scripts,
            programs=tuple(path for path in found if path),
        )

    def run_check(self, command: tuple[str, ...], env: dict[str, str]) -> CommandResult | None:
        try:
            proc = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=CHECK_TIMEOUT,
                env={"PATH": PROGRAM_PATH, **env},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return CommandResult(command, proc.returncode, proc.stdout + proc.stderr)

    def is_root(self) -> bool:
        return os.geteuid() == 0

    def now(self) -> float:
        return time.time()

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    local_files = True

    def stat(self, path: str) -> FileStat:
        if not _nameable(path):
            return FileStat(path, error="no such file")
        try:
            link = os.lstat(path)
        except OSError as exc:
            return FileStat(path, error=exc.strerror or str(exc))
        except ValueError:
            return FileStat(path, error="no such file")
        is_link = stat_module.S_ISLNK(link.st_mode)
        target = _readlink(path) if is_link else ""
        try:
            info = os.stat(path) if is_link else link
        except (OSError, ValueError) as exc:
            error = exc.strerror if isinstance(exc, OSError) else "no such file"
            return FileStat(
                path, is_link=is_link, link_target=target, error=error or "", mtime=link.st_mtime
            )
        return FileStat(
            path,
            exists=True,
            kind=_kind(info.st_mode),
            is_link=is_link,
            link_target=target,
            mode=info.st_mode,
            uid=info.st_uid,
            gid=info.st_gid,
            owner=user_name(info.st_uid),
            group=group_name(info.st_gid),
            device=info.st_dev,
            mtime=link.st_mtime,
        )

    def walk(self, root: str, skip: tuple[str, ...] = ()) -> Iterator[tuple[str, float]]:
        if not _nameable(root):
            return
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = [d for d in dirnames if d not in skip]
            for name in filenames:
                full = os.path.join(dirpath, name)
                try:
                    mtime = os.lstat(full).st_mtime
                except OSError:
                    continue
                yield os.path.relpath(full, root), mtime

    def read_bytes(self, path: str, limit: int) -> bytes | None:
        if not _nameable(path):
            return None
        try:
            # stat first: a FIFO, socket or device is not opened at all (a device's open can
            # act); O_NONBLOCK and fstat: one swapped in since does not hang the diagnosis.
            if not stat_module.S_ISREG(os.stat(path).st_mode):
                return None
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, ValueError):
            return None
        try:
            if not stat_module.S_ISREG(os.fstat(fd).st_mode):
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read(limit)
        except OSError:
            return None
        finally:
            os.close(fd)

    def listdir(self, path: str) -> list[str] | None:
        if not _nameable(path):
            return None
        try:
            return sorted(os.listdir(path))
        except (OSError, ValueError):
            return None

    def realpath(self, path: str) -> str:
        if not _nameable(path):
            return path
        try:
            return os.path.realpath(path)
        except (OSError, ValueError):
            return path

    def user(self, name: str) -> UserIdentity | None:
        if not _nameable(name):
            return None
        try:
            entry = pwd.getpwnam(name)
        except (KeyError, ValueError):
            return None
        groups = {g.gr_gid for g in grp.getgrall() if name in g.gr_mem} | {entry.pw_gid}
        return UserIdentity(name, entry.pw_uid, tuple(sorted(groups)))

    def disk_usage(self, path: str) -> DiskSpace | None:
        if not _nameable(path):
            return None
        try:
            stats = os.statvfs(path)
            device = os.stat(path).st_dev
        except (OSError, ValueError):
            return None
        return DiskSpace(
            total_bytes=stats.f_blocks * stats.f_frsize,
            free_bytes=stats.f_bavail * stats.f_frsize,
            total_inodes=stats.f_files,
            free_inodes=stats.f_favail,
            device=device,
        )

    def read_tail(self, path: str, limit: int) -> tuple[bytes | None, str]:
        if not _nameable(path):
            return None, "No such file or directory"
        try:
            # A log may be a FIFO or a terminal (`error_log /dev/stderr`): a blocking open or
            # read of it never ends. Stat'ed first, opened non-blocking, fstat'ed after.
            what = _not_regular(os.stat(path).st_mode)
            if what:
                return None, what
            with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as handle:
                what = _not_regular(os.fstat(handle.fileno()).st_mode)
                if what:
                    return None, what
                size = os.fstat(handle.fileno()).st_size
                if size > limit:
                    handle.seek(size - limit)
                    handle.readline()  # drop the partial first line
                return handle.read(limit) or b"", ""
        except (OSError, ValueError) as exc:
            if isinstance(exc, ValueError):
                return None, "No such file or directory"
            return None, exc.strerror or str(exc)


def _nameable(path: str) -> bool:
    """Whether `path` can name a file at all: no NUL byte, and encodable as a file name
    (a lone surrogate that no decoder left is not)."""
    if "\0" in path:
        return False
    try:
        os.fsencode(path)
    except UnicodeError:
        return False
    return True


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _not_regular(mode: int) -> str:
    """Why a file of st_mode `mode` is not read as a log ("" for a regular file)."""
    if stat_module.S_ISREG(mode):
        return ""
    kinds = (
        (stat_module.S_ISFIFO, "a FIFO"),
        (stat_module.S_ISDIR, "a directory"),
        (stat_module.S_ISSOCK, "a socket"),
        (stat_module.S_ISCHR, "a character device"),
    )
    what = next((name for test, name in kinds if test(mode)), "a special file")
    return f"{what}, not a regular file: not read"


def _kind(mode: int) -> str:
    if stat_module.S_ISDIR(mode):
        return "dir"
    return "file" if stat_module.S_ISREG(mode) else "other"


def path_chain(path: str) -> list[str]:
    """`/a/b/c` -> [`/`, `/a`, `/a/b`, `/a/b/c`]: every directory a lookup searches, then
    the path itself (a relative path: only itself)."""
    if not path.startswith("/"):
        return [path]
    chain, current = ["/"], "/"
    for part in [p for p in path.split("/") if p]:
        current = posixpath.join(current, part)
        chain.append(current)
    return chain


def first_blocking(chain: list[FileStat], user: UserIdentity) -> tuple[str, str] | None:
    """Over the stats of `path_chain(path)`: the first directory `user` may not search
    (need "x") or the file it may not read ("r"). None when nothing blocks, or when a step
    cannot be known (it does not exist, or was not looked at)."""
    for index, found in enumerate(chain):
        last = index == len(chain) - 1
        if not found.exists:
            return None
        is_dir = found.kind == "dir"
        if not last and not is_dir:
            return None
        if found.uid == user.uid:
            bits = stat_module.S_IXUSR if is_dir else stat_module.S_IRUSR
        elif found.gid in user.gids:
            bits = stat_module.S_IXGRP if is_dir else stat_module.S_IRGRP
        else:
            bits = stat_module.S_IXOTH if is_dir else stat_module.S_IROTH
        if not found.mode & bits:
            return found.path, "x" if is_dir else "r"
    return None


MAX_COMPARED = 64 * 1024 * 1024
PROGRAM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CHECK_TIMEOUT = 10.0


def soft_open_files(limits: str) -> int | None:
    """The soft "Max open files" of a /proc/PID/limits text (None: absent or unlimited)."""
    for line in limits.splitlines():
        if line.startswith("Max open files"):
            soft = line[len("Max open files") :].split()[0]
            return int(soft) if soft.isascii() and soft.isdigit() else None
    return None


@dataclass(frozen=True)
class RecordedFile:
    """One file system entry of a RecordedHost: a file (with its content), a directory, or a
    symlink (`target`, as readlink says it)."""

    kind: str = "file"  # file | dir | link
    content: bytes = b""
    target: str = ""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    owner: str = "root"
    group: str = "root"
    device: int = 1
    mtime: float = 0.0


@dataclass
class RecordedHost(Host):
    """A machine given as data: what tests and recorded evidence replay against."""

    procs: list[ProcessInfo] = field(default_factory=list)
    sockets: list[ListeningSocket] = field(default_factory=list)
    environments: dict[int, dict[str, str]] = field(default_factory=dict)
    fds: dict[int, DescriptorUse] = field(default_factory=dict)
    stderr_files: dict[int, str] = field(default_factory=dict)
    stdout_files: dict[int, str] = field(default_factory=dict)
    root: bool = False
    clock: float = 1_800_000_000.0
    memory_bytes: tuple[int, int] = (8 << 30, 4 << 30)
    services: ServiceManager = field(default_factory=ServiceManager)
    # Config-test results by program name ("nginx", "apache2ctl"); absent: cannot run.
    checks: dict[str, CommandResult] = field(default_factory=dict)
    # Files by absolute path (parent directories are implied); users by name.
    files: dict[str, RecordedFile] = field(default_factory=dict)
    users: dict[str, UserIdentity] = field(default_factory=dict)
    # File systems by mount point (the longest one holding a path answers for it).
    disks: dict[str, DiskSpace] = field(default_factory=dict)

    def processes(self) -> list[ProcessInfo]:
        return list(self.procs)

    def listening(self) -> list[ListeningSocket]:
        return list(self.sockets)

    def environ(self, pid: int) -> dict[str, str]:
        return dict(self.environments.get(pid, {}))

    def descriptors(self, pid: int) -> DescriptorUse | None:
        return self.fds.get(pid)

    def stderr_file(self, pid: int) -> str:
        return self.stderr_files.get(pid, "")

    def stdout_file(self, pid: int) -> str:
        return self.stdout_files.get(pid, "")

    def memory(self) -> tuple[int, int]:
        return self.memory_bytes

    def service_manager(self) -> ServiceManager:
        return self.services

    def run_check(self, command: tuple[str, ...], env: dict[str, str]) -> CommandResult | None:
        recorded = self.checks.get(os.path.basename(command[0]))
        return CommandResult(command, recorded.returncode, recorded.output) if recorded else None

    def is_root(self) -> bool:
        return self.root

    def now(self) -> float:
        return self.clock

    def pause(self, seconds: float) -> None:
        """A host given as data does not change while one waits: no wait."""

    def _entry(self, path: str) -> RecordedFile | None:
        path = posixpath.normpath(path) if path.startswith("/") else path
        found = self.files.get(path)
        if found is None and any(other.startswith(path.rstrip("/") + "/") for other in self.files):
            return RecordedFile(kind="dir", mode=0o755)  # an implied parent directory
        return found

    def _follow(self, path: str) -> tuple[str, RecordedFile | None]:
        """The path with its symlinks resolved (at most 40, like the kernel), and its entry."""
        current = path
        for _hop in range(40):
            resolved = "/"
            entry: RecordedFile | None = None
            for part in [p for p in current.split("/") if p]:
                resolved = posixpath.join(resolved, part)
                entry = self._entry(resolved)
                if entry is not None and entry.kind == "link":
                    rest = current[len(resolved) :].lstrip("/")
                    target = posixpath.join(posixpath.dirname(resolved), entry.target)
                    current = posixpath.normpath(posixpath.join(target, rest))
                    break
            else:
                return resolved, entry if resolved != "/" else RecordedFile(kind="dir", mode=0o755)
        return current, None

    def stat(self, path: str) -> FileStat:
        if not _nameable(path) or not path.startswith("/"):
            return FileStat(path, error=os.strerror(errno.ENOENT))
        own = self._entry(path)
        is_link = own is not None and own.kind == "link"
        _real, entry = self._follow(path)
        if entry is None:
            error = os.strerror(errno.ENOENT)
            target = own.target if own else ""
            mtime = own.mtime if own else 0.0
            return FileStat(path, is_link=is_link, link_target=target, error=error, mtime=mtime)
        kinds = {"file": stat_module.S_IFREG, "dir": stat_module.S_IFDIR}
        return FileStat(
            path,
            exists=True,
            kind=entry.kind if entry.kind in kinds else "other",
            is_link=is_link,
            link_target=own.target if own is not None and is_link else "",
            mode=kinds.get(entry.kind, 0) | entry.mode,
            uid=entry.uid,
            gid=entry.gid,
            owner=entry.owner,
            group=entry.group,
            device=entry.device,
            mtime=(own or entry).mtime,
        )

    def read_bytes(self, path: str, limit: int) -> bytes | None:
        if not _nameable(path):
            return None
        _real, entry = self._follow(path)
        return entry.content[:limit] if entry is not None and entry.kind == "file" else None

    def listdir(self, path: str) -> list[str] | None:
        real, entry = self._follow(path)
        if entry is None or entry.kind != "dir":
            return None
        prefix = real.rstrip("/") + "/"
        names = {p[len(prefix) :].split("/")[0] for p in self.files if p.startswith(prefix)}
        return sorted(names)

    def realpath(self, path: str) -> str:
        return self._follow(path)[0] if _nameable(path) and path.startswith("/") else path

    def user(self, name: str) -> UserIdentity | None:
        return self.users.get(name)

    def disk_usage(self, path: str) -> DiskSpace | None:
        mounts = [m for m in self.disks if path == m or path.startswith(m.rstrip("/") + "/")]
        return self.disks[max(mounts, key=len)] if mounts else None

    def read_tail(self, path: str, limit: int) -> tuple[bytes | None, str]:
        data = self.read_bytes(path, 1 << 62)
        if data is None:
            return None, os.strerror(errno.ENOENT)
        if len(data) > limit:
            data = data[len(data) - limit :]
            data = data.split(b"\n", 1)[1] if b"\n" in data else b""
        return data, ""

    def walk(self, root: str, skip: tuple[str, ...] = ()) -> Iterator[tuple[str, float]]:
        prefix = self.realpath(root).rstrip("/") + "/"  # the root itself is followed
        for path in sorted(self.files):
            entry = self.files[path]
            rel = path[len(prefix) :]
            if (
                path.startswith(prefix)
                and entry.kind != "dir"
                and not set(rel.split("/")[:-1]) & set(skip)
            ):
                yield rel, entry.mtime


def _open_file(pid: int, fd: int) -> str:
    """The regular file a process has open as descriptor `fd` ("" if none or unknown)."""
    try:
        for opened in psutil.Process(pid).open_files():
            if opened.fd == fd:
                return str(opened.path)
    except (psutil.Error, OSError):
        return ""
    return ""
