"""Writing outputs safely: build under a temporary name beside the target, rename when complete.

Every temporary path is registered while it is live, so an exception, Ctrl-C (SIGINT), SIGTERM
(see ``datagen.signals``) or interpreter exit removes it: nothing half-written is left at or
beside the target. ``check_target`` is the one ``--force`` policy: commands call it before any
work, so a refusal costs nothing and keeps the existing output.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import hashlib
import itertools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from datagen.errors import OutputError
from datagen.signals import held

__all__ = ["DISK_FULL", "OutputError", "atomic_open", "check_target", "check_writable", "cleanup", "disk_full",
           "file_mode", "named_when_full", "respect_umask", "publish", "scratch_dir", "staged", "write_json"]

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # the errors of a full disk or quota
_LIVE: dict[Path, int] = {}  # temporary path -> pid that owns it (forked workers must not delete)
_COUNTER = itertools.count()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def cleanup() -> None:
    """Remove every live temporary path this process owns (signal handlers and atexit call this)."""
    pid = os.getpid()
    for path, owner in list(_LIVE.items()):
        if owner == pid:
            _remove(path)
            _LIVE.pop(path, None)


atexit.register(cleanup)


def check_writable(path: Path) -> None:
    """Fail early, naming the path, when ``path`` could not be created."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: {probe} is not a writable directory")
    # os.access says yes to root on a read-only mount or an immutable folder: try for real
    try:
        fd, name = tempfile.mkstemp(prefix=".datagen-probe-", dir=probe)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {probe}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(name)


def check_target(path: str | Path, force: bool, *, option: str = "--out", directory: bool = False) -> None:
    """The ``--force`` policy: an existing output is kept unless the user asked to replace it."""
    if str(path) == "-":
        return
    path = Path(path)
    if directory and path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
        pass  # an empty folder made for the output holds nothing to lose
    elif path.exists() or path.is_symlink():
        if directory != path.is_dir():  # --force would not help: say so first
            kind = "a directory" if path.is_dir() else "a file"
            raise OutputError(f"{path} is {kind}; it cannot be replaced by this output", field=option)
        if not force:
            raise OutputError(f"{path} exists; pass --force to replace it", field=option)
    try:
        check_writable(path)
    except OutputError as exc:
        exc.field = exc.field or option
        raise


@contextlib.contextmanager
def named_when_full(target: str | Path, tmp: Path | None = None) -> Iterator[None]:
    """A full disk while writing ``target`` reads as ``OSError(ENOSPC, ..., target)``: the entry point
    names the output in one line. A write to an open file does not say which file it was, and a file
    inside the temporary ``tmp`` is named as it would be in ``target``."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        name = str(target)
        if exc.filename is not None:
            inside = tmp is not None and Path(exc.filename).is_relative_to(tmp)
            name = str(Path(target) / Path(exc.filename).relative_to(tmp)) if inside else exc.filename
        raise OSError(exc.errno, os.strerror(exc.errno), name) from None


def file_mode() -> int:
    """The mode ``open()`` gives a new file under this process's umask (0o644 under umask 022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def respect_umask(paths: Iterable[Path]) -> None:
    """Give files a library created private (MindSpore's FileWriter makes them 0600) the usual mode."""
    mode = file_mode()
    for path in paths:
        os.chmod(path, mode)


def disk_full(path: str | Path) -> bool:
    """Whether the file system holding ``path`` (or its nearest existing parent) has no room left."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        stats = os.statvfs(probe)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def _replace(tmp: Path, target: Path) -> None:
    if tmp.is_dir() and target.exists():
        # a directory cannot be renamed over a non-empty one: move the old aside, then drop it
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{next(_COUNTER)}")
        _LIVE[old] = os.getpid()
        os.replace(target, old)
        os.replace(tmp, target)
        _remove(old)
        _LIVE.pop(old, None)
    else:
        os.replace(tmp, target)


@contextlib.contextmanager
def staged(target: str | Path, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` (an empty folder when ``directory``).

    On normal exit it is renamed to ``target`` (replacing what was there); on any exception,
    signal or exit it is removed. Paths written inside a staged folder should be recorded
    relative to the folder, since the folder's name changes on commit.
    """
    target = Path(target)
    check_writable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{next(_COUNTER)}")
    _LIVE[tmp] = os.getpid()
    try:
        if directory:
            tmp.mkdir()
        with named_when_full(target, tmp):
            yield tmp
        _replace(tmp, target)
    finally:
        if os.getpid() == _LIVE.get(tmp):
            _LIVE.pop(tmp, None)
            if tmp.exists() or tmp.is_symlink():
                _remove(tmp)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open ``path`` for writing under a temporary name; rename only on success.

    ``-`` means standard output (nothing to rename). The ``--force`` decision is the caller's
    (``check_target``), taken before the work starts.
    """
    if str(path) == "-":
        stream = sys.stdout.buffer if "b" in mode else sys.stdout
        yield stream
        stream.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{target} is a directory")
    kwargs = {} if "b" in mode else {"encoding": encoding, "newline": "\n"}
    with staged(target) as tmp:
        with open(tmp, mode, **kwargs) as handle:
            yield handle


def write_json(path: str | Path, data) -> None:
    """``--json PATH``: the object as indented JSON, atomically, or on standard output for ``-``."""
    with atomic_open(path) as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.write("\n")


@contextlib.contextmanager
def scratch_dir(beside: str | Path) -> Iterator[Path]:
    """A new temporary folder beside ``beside``, removed at the end whatever happens.

    For outputs made of several files (a MindRecord and its index, shards): build them here,
    then ``publish`` them next to the target.
    """
    beside = Path(beside)
    check_writable(beside)
    beside.parent.mkdir(parents=True, exist_ok=True)
    tmp = beside.with_name(f".{beside.name}.tmp-{os.getpid()}-{next(_COUNTER)}")
    _LIVE[tmp] = os.getpid()
    try:
        tmp.mkdir()
        with named_when_full(beside):
            yield tmp
    finally:
        if os.getpid() == _LIVE.get(tmp):
            _LIVE.pop(tmp, None)
            _remove(tmp)


def publish(moves: Iterable[tuple[Path, Path]], stale: Iterable[Path] = ()) -> None:
    """Rename every ``(built, target)`` pair, then remove ``stale`` paths, as one step.

    Signals are held until the set is complete, so an interrupt leaves the old set or the new
    one, never a mix. A signal that arrived meanwhile is acted on right after.
    """
    moves = [(Path(a), Path(b)) for a, b in moves]
    targets = {b for _, b in moves}
    with held():
        for built, target in moves:
            os.replace(built, target)
        for path in stale:
            if Path(path) not in targets:
                with contextlib.suppress(FileNotFoundError):
                    Path(path).unlink()


def sha256_file(path: str | Path) -> str:
    """A file's sha256, read in 1 MiB blocks (the one hash every manifest, card and model check uses)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
