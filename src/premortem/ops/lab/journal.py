"""The fault journal: every change a scenario makes, recorded so `lab repair` undoes it.

Before a scenario touches a path, the journal saves what was there (bytes, mode, owner,
times for a file; the target for a symlink; nothing for an absent path) under
<state>/fault-backups/, and writes the record to <state>/fault.json at once, so even an
injection that fails half way is repairable. Repair restores in reverse order, byte for
byte, then undoes service changes (restarts what the fault stopped).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from premortem.errors import PremortemError


@dataclass
class PathRecord:
    """What a path was before the fault: kind is file, symlink, dir or absent."""

    path: str
    kind: str
    backup: str = ""
    target: str = ""
    mode: int = 0
    uid: int = 0
    gid: int = 0
    atime_ns: int = 0
    mtime_ns: int = 0


@dataclass
class FaultRecord:
    scenario: str
    paths: list[PathRecord] = field(default_factory=list)
    # Lab services the fault stopped ("apache", "mariadb"): repair starts them again.
    stopped: list[str] = field(default_factory=list)
    # The Apache config changed: repair restarts Apache after restoring files.
    restart_apache: bool = False
    # The lab's Apache was started with these ulimits and must be restarted without them.
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRecord:
        paths = [PathRecord(**p) for p in data.get("paths", [])]
        return cls(
            scenario=str(data["scenario"]),
            paths=paths,
            stopped=list(data.get("stopped", [])),
            restart_apache=bool(data.get("restart_apache", False)),
            notes=dict(data.get("notes", {})),
        )


class FaultJournal:
    """Records and undoes the changes of one injected fault."""

    def __init__(self, record_file: Path, backup_dir: Path) -> None:
        self.record_file = record_file
        self.backup_dir = backup_dir
        self.record: FaultRecord | None = None

    # -- state -------------------------------------------------------------------------

    @classmethod
    def load(cls, record_file: Path, backup_dir: Path) -> FaultJournal:
        journal = cls(record_file, backup_dir)
        if record_file.exists():
            try:
                journal.record = FaultRecord.from_dict(json.loads(record_file.read_text()))
            except (ValueError, KeyError, TypeError) as exc:
                raise PremortemError(
                    f"the lab's fault journal {record_file} is damaged: {exc}"
                ) from None
        return journal

    @property
    def active(self) -> str | None:
        return self.record.scenario if self.record else None

    def begin(self, scenario: str) -> None:
        if self.record is not None:
            raise PremortemError(
                f"the lab is already broken by scenario {self.record.scenario!r}; "
                "run `premortem lab repair` first (one fault at a time)"
            )
        shutil.rmtree(self.backup_dir, ignore_errors=True)
        self.backup_dir.mkdir(parents=True, mode=0o700)
        self.record = FaultRecord(scenario=scenario)
        self._save()

    def _save(self) -> None:
        assert self.record is not None
        self.record_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.record_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(self.record.to_dict(), out, indent=2)
        os.replace(tmp, self.record_file)

    def _require(self) -> FaultRecord:
        if self.record is None:
            raise PremortemError("no fault is being recorded (call begin first)")
        return self.record

    # -- recording ---------------------------------------------------------------------

    def remember(self, path: Path) -> None:
        """Save what path is now (once per path: the first state is the one to restore)."""
        record = self._require()
        key = str(path)
        if any(p.path == key for p in record.paths):
            return
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            # Creating it will change the parent (maybe create it): record that first.
            self.remember_parent(path)
            record.paths.append(PathRecord(path=key, kind="absent"))
            self._save()
            return
        item = PathRecord(
            path=key,
            kind="",
            mode=stat.S_IMODE(st.st_mode),
            uid=st.st_uid,
            gid=st.st_gid,
            atime_ns=st.st_atime_ns,
            mtime_ns=st.st_mtime_ns,
        )
        if stat.S_ISLNK(st.st_mode):
            item.kind, item.target = "symlink", os.readlink(path)
        elif stat.S_ISDIR(st.st_mode):
            # Directories: mode and owner only (scenarios chmod them, never rewrite them).
            item.kind = "dir"
        elif stat.S_ISREG(st.st_mode):
            item.kind = "file"
            item.backup = str(self.backup_dir / str(len(record.paths)))
            shutil.copyfile(path, item.backup)
        else:
            raise PremortemError(f"cannot record {path}: not a file, directory or symlink")
        record.paths.append(item)
        self._save()

    def remember_parent(self, path: Path) -> None:
        """Record the directory holding path: adding or removing entries changes its mtime."""
        self.remember(path.parent)

    def note_stopped(self, service: str) -> None:
        record = self._require()
        if service not in record.stopped:
            record.stopped.append(service)
        self._save()

    def note_restart_apache(self) -> None:
        self._require().restart_apache = True
        self._save()

    def note(self, key: str, value: Any) -> None:
        self._require().notes[key] = value
        self._save()

    # -- changes through the journal ---------------------------------------------------

    def write_bytes(self, path: Path, data: bytes) -> None:
        """Replace a file's content in place (keeps its inode, mode and owner).

        A file hard-linked into other releases (deploy links unchanged files) gets its
        own inode first, so the fault reaches this release only and rollback can help.
        """
        self.remember(path)
        _detach_hard_link(path)
        with open(path, "r+b") as out:
            out.write(data)
            out.truncate()

    def replace_text(self, path: Path, old: str, new: str) -> None:
        """Replace the one occurrence of old in path; an error when it is not there once."""
        text = path.read_bytes().decode("utf-8")
        if text.count(old) != 1:
            raise PremortemError(f"{path}: expected exactly one {old!r} to change")
        self.write_bytes(path, text.replace(old, new).encode("utf-8"))

    def create_file(self, path: Path, data: bytes, mode: int = 0o644) -> None:
        self.remember(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, mode)

    def mkdir(self, path: Path, mode: int = 0o755) -> None:
        """Create a directory that repair removes again."""
        self.remember(path)
        path.mkdir(mode=mode)

    def chmod(self, path: Path, mode: int) -> None:
        self.remember(path)
        _detach_hard_link(path)
        os.chmod(path, mode, follow_symlinks=False)

    def remove(self, path: Path) -> None:
        self.remember_parent(path)
        self.remember(path)
        if path.is_dir() and not path.is_symlink():
            raise PremortemError(f"refusing to remove directory {path} in a fault")
        path.unlink()

    def rename(self, src: Path, dst: Path) -> None:
        """Move a file away (both ends are recorded, so repair moves it back)."""
        self.remember_parent(src)
        self.remember_parent(dst)
        self.remember(src)
        self.remember(dst)
        os.rename(src, dst)

    def symlink(self, path: Path, target: str) -> None:
        self.remember_parent(path)
        self.remember(path)
        tmp = path.with_name(f".{path.name}.fault-tmp")
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        os.replace(tmp, path)

    # -- repair ------------------------------------------------------------------------

    def restore_paths(self) -> list[str]:
        """Put every recorded path back as it was; return the paths restored."""
        record = self._require()
        restored: list[str] = []
        for item in reversed(record.paths):
            _restore(item)
            restored.append(item.path)
        return restored

    def finish(self) -> None:
        """Forget the fault (after a successful repair)."""
        self.record = None
        self.record_file.unlink(missing_ok=True)
        shutil.rmtree(self.backup_dir, ignore_errors=True)


def _detach_hard_link(path: Path) -> None:
    """Give a regular file with several links a private copy (same bytes, mode, owner)."""
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode) or info.st_nlink < 2:
        return
    tmp = path.with_name(f".{path.name}.premortem-detach")
    shutil.copy2(path, tmp)
    os.chown(tmp, info.st_uid, info.st_gid)
    os.replace(tmp, path)


def _remove_existing(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        # Only what a fault created can be here (a recorded dir keeps its inode).
        shutil.rmtree(path)


def _restore(item: PathRecord) -> None:
    path = Path(item.path)
    if item.kind == "absent":
        if path.is_symlink() or path.exists():
            _remove_existing(path)
        return
    if item.kind == "symlink":
        if path.is_symlink() and os.readlink(path) == item.target:
            return
        if path.is_symlink() or path.exists():
            _remove_existing(path)
        os.symlink(item.target, path)
        os.chown(path, item.uid, item.gid, follow_symlinks=False)
        os.utime(path, ns=(item.atime_ns, item.mtime_ns), follow_symlinks=False)
        return
    if item.kind == "dir":
        if not path.is_dir() or path.is_symlink():
            raise PremortemError(f"cannot restore directory {path}: it is gone")
    elif item.kind == "file":
        if path.is_symlink() or path.is_dir():
            _remove_existing(path)
        # Write through a fresh descriptor: the fault may have made the file unreadable.
        if path.exists():
            os.chmod(path, 0o600)
        shutil.copyfile(item.backup, path)
    os.chown(path, item.uid, item.gid, follow_symlinks=False)
    os.chmod(path, item.mode)
    os.utime(path, ns=(item.atime_ns, item.mtime_ns), follow_symlinks=False)
