"""Writing report files safely: every file goes to a temporary file in the same folder and is renamed into
place only when it is complete, so a full disk or a read-only folder never leaves a half-written report
(the previous report stays as it was). Failures raise :class:`ReportError` naming the folder."""
from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Iterable

CHUNK = 1 << 20


class ReportError(OSError):
    """The report folder cannot be created or written. The message names the folder and what to do; the
    store is never touched by the report stage. ``errno`` is the underlying error's, ``folder`` the folder."""

    folder: Path | None = None


def _hint(err: OSError) -> str:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some space there or point report.dir (CXNLP_REPORT_DIR) to another folder"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "make it writable or point report.dir (CXNLP_REPORT_DIR) to a writable folder"
    return "check the folder or point report.dir (CXNLP_REPORT_DIR) to another one"


def _reason(err: OSError) -> str:
    return err.strerror or str(err) or type(err).__name__


def _error(message: str, folder: Path, err: OSError) -> ReportError:
    e = ReportError(message)
    e.errno, e.folder = err.errno, folder
    return e


def ensure_dir(folder: str | os.PathLike) -> Path:
    """Creates the folder (and its parents); ReportError naming it when that is impossible."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _error(f"cannot create the report folder {folder}: {_reason(err)}; {_hint(err)}", folder, err) from err
    return folder


def _write_temp(path: Path, data: bytes) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view[:CHUNK])
                view = view[n:]
            os.fsync(fd)  # a full disk may only show here (delayed allocation)
        finally:
            os.close(fd)
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _remove(p: Path) -> None:
    try:
        p.unlink()
    except OSError:
        pass


def write_files(files: Iterable[tuple[Path, bytes | str]]) -> list[Path]:
    """Writes several files of one folder all or nothing: all temporary files first, then the renames.
    Strings are written as UTF-8."""
    items = [(Path(p), d.encode("utf-8") if isinstance(d, str) else bytes(d)) for p, d in files]
    temps: list[tuple[Path, Path]] = []
    current: Path | None = None
    try:
        for path, data in items:
            current = path
            temps.append((_write_temp(path, data), path))
        for tmp, path in temps:
            current = path
            os.replace(tmp, path)
    except OSError as err:
        for tmp, _ in temps:
            _remove(tmp)
        name = current.name if current is not None else "?"
        folder = current.parent if current is not None else Path(".")
        raise _error(f"cannot write {name} in the report folder {folder}: {_reason(err)}; {_hint(err)}",
                     folder, err) from err
    except BaseException:
        for tmp, _ in temps:
            _remove(tmp)
        raise
    return [p for p, _ in items]


def write_file(path: str | os.PathLike, data: bytes | str) -> Path:
    return write_files([(Path(path), data)])[0]
