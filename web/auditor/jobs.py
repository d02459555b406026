"""Uploaded event logs checked in the background, so the page can show how far the reading got.

Each upload gets a random token: the file is kept as ``<token>.log`` in the instance folder, and the
job's state (owner, options, bytes read, result) as ``<token>.json``, rewritten atomically as the
reading advances. The state lives on disk, so any web process on the machine can answer the page's
polls. Jobs are removed after a day; a job whose state has not moved for ten minutes (or its time
budget, when longer) while running was interrupted (the process stopped) and says so.

At most ``AUDIT_MAX_JOBS`` checks (default 2) run at once in one web process, uploads and their
downloads alike; one more is refused with a message to try again in a few minutes, never queued
without bound. Each check keeps within a wall-clock budget (``AUDIT_VARIANT_SECONDS`` per distinct
sequence of steps, ``AUDIT_JOB_SECONDS`` for the whole log): a case past it is listed as not
checked, with the reason.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from flask import current_app
from werkzeug.datastructures import FileStorage

from engine.audit import logs
from engine.audit.conformance import VARIANT_SECONDS, Budget, check_log
from engine.audit.mapping import ActivityMapper
from engine.audit.reference_model import ProcessModel
from engine.errors import NotFound
from web.auditor.findings import findings_view

TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")
KEEP_SECONDS = 24 * 3600
STALE_SECONDS = 600
WRITE_EVERY = 0.25
CHUNK = 1 << 20
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
GZIP_FACTOR = 4  # a compressed log may expand to this many times the upload limit
SHOWN_REJECTS = 1000
CSV_ENDINGS = (".csv", ".txt")
XES_ENDINGS = (".xes", ".xml")
DEFAULT_MAX_RUNNING = 2
DEFAULT_JOB_SECONDS = 300.0

_running = 0
_running_lock = threading.Lock()


class UploadTooLarge(Exception):
    pass


class JobsBusy(Exception):
    """As many checks as allowed are running in this process already."""

    def __init__(self, limit: int):
        super().__init__(f"{limit} checks are running already")
        self.limit = limit


def folder() -> Path:
    path = Path(current_app.config.get("AUDIT_IMPORTS_FOLDER") or Path(current_app.instance_path) / "audit-imports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def max_bytes() -> int:
    return int(current_app.config.get("AUDIT_LOG_MAX_BYTES") or DEFAULT_MAX_BYTES)


def max_running() -> int:
    return max(int(current_app.config.get("AUDIT_MAX_JOBS") or DEFAULT_MAX_RUNNING), 1)


def budget() -> Budget:
    """The time budget of one check (per variant and in all), from the configuration."""
    config = current_app.config
    return Budget(
        float(config.get("AUDIT_VARIANT_SECONDS") or VARIANT_SECONDS),
        float(config.get("AUDIT_JOB_SECONDS") or DEFAULT_JOB_SECONDS),
    )


def busy() -> bool:
    """Whether a check started now would be refused (a hint before storing an upload)."""
    return _running >= max_running()


def _claim(limit: int) -> None:
    global _running
    with _running_lock:
        if _running >= limit:
            raise JobsBusy(limit)
        _running += 1


def _release() -> None:
    global _running
    with _running_lock:
        _running -= 1


@contextmanager
def slot() -> Iterator[None]:
    """One of the process's running checks for the duration (raises :class:`JobsBusy`)."""
    _claim(max_running())
    try:
        yield
    finally:
        _release()


def guess_format(filename: str, chosen: str | None) -> str | None:
    """``xes`` or ``csv``: as chosen, else by the file name (``.gz`` allowed); None when unknown."""
    if chosen in ("xes", "csv"):
        return chosen
    name = filename.lower().removesuffix(".gz")
    if name.endswith(CSV_ENDINGS):
        return "csv"
    if name.endswith(XES_ENDINGS):
        return "xes"
    return None


def _state_path(base: Path, token: str) -> Path:
    return base / f"{token}.json"


def _write_state(base: Path, token: str, state: dict[str, Any]) -> None:
    state["updated"] = time.time()
    target = _state_path(base, token)
    partial = target.with_suffix(".part")
    partial.write_text(json.dumps(state, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(partial, target)


def _clean(base: Path) -> None:
    limit = time.time() - KEEP_SECONDS
    for path in base.iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            continue


def create(owner: str, flow: str, upload: FileStorage, options: dict[str, Any]) -> str:
    """Store the upload and the job's first state; raises UploadTooLarge past the size limit."""
    base = folder()
    _clean(base)
    token = secrets.token_urlsafe(16)
    target = base / f"{token}.log"
    size = 0
    limit = max_bytes()
    with open(target, "wb") as out:
        while chunk := upload.stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise UploadTooLarge(limit)
            out.write(chunk)
    state = {
        "owner": owner,
        "flow": flow,
        "filename": (upload.filename or "log")[:200],
        "size": size,
        "compressed": (upload.filename or "").lower().endswith(".gz"),
        "options": options,
        "status": "queued",
        "read": 0,
        "started": time.time(),
    }
    _write_state(base, token, state)
    return token


def load(token: str, owner: str) -> dict[str, Any]:
    """The job's state; NotFound for an unknown token or someone else's job."""
    if not TOKEN.fullmatch(token or ""):
        raise NotFound("没有这个检查任务")
    path = _state_path(folder(), token)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotFound("没有这个检查任务，或者它已过期") from exc
    if state.get("owner") != owner:
        raise NotFound("没有这个检查任务")
    stale = max(STALE_SECONDS, budget().job_seconds + 60)
    if state["status"] in ("queued", "reading", "checking") and time.time() - state["updated"] > stale:
        state["status"], state["error"] = "failed", "interrupted"
    state["token"] = token
    return state


def progress(state: dict[str, Any]) -> dict[str, Any]:
    """What the page's progress display needs."""
    total = None if state.get("compressed") else state.get("size")
    percent = min(int(state["read"] * 100 / total), 100) if total else None
    if state["status"] in ("checking", "done"):
        percent = 100
    return {"status": state["status"], "read": state["read"], "total": total, "percent": percent}


def read_log(token: str, state: dict[str, Any], mapper: ActivityMapper) -> logs.ImportResult:
    """Read a finished job's stored log again (for downloads); raises LogUnreadable."""
    path = folder() / f"{token}.log"
    if not path.is_file():
        raise NotFound("上传的文件已经过期，请重新上传")
    return _read(path, state, mapper, None, _limit(state))


def _limit(state: dict[str, Any]) -> int:
    return max_bytes() * (GZIP_FACTOR if state.get("compressed") else 1)


def _read(
    path: Path, state: dict[str, Any], mapper: ActivityMapper, advance: Callable[[int], None] | None, limit: int
) -> logs.ImportResult:
    options = state["options"]
    source: IO[bytes] | Path = gzip.open(path, "rb") if state.get("compressed") else path
    try:
        if options["format"] == "xes":
            return logs.read_xes(source, mapper, advance, max_bytes=limit, ended=options["ended"])
        return logs.read_csv(
            source, mapper, advance, columns=options["columns"], max_bytes=limit, ended=options["ended"]
        )
    except (OSError, EOFError, zlib.error) as exc:
        raise logs.LogUnreadable(f"cannot read the file: {exc}") from exc
    finally:
        if isinstance(source, gzip.GzipFile):
            source.close()


def start(token: str, owner: str, model: ProcessModel, mapper: ActivityMapper) -> None:
    """Read and check the job's log in a thread of its own, within the time budget; raises
    :class:`JobsBusy` (and forgets the job's files) when as many checks as allowed are running."""
    base = folder()
    state = load(token, owner)
    limit = _limit(state)
    try:
        _claim(max_running())
    except JobsBusy:
        for path in base.glob(f"{token}.*"):
            path.unlink(missing_ok=True)
        raise
    try:
        thread = threading.Thread(
            target=_run, args=(base, token, state, model, mapper, limit, budget()), name=f"audit-import-{token[:6]}"
        )
        thread.daemon = True
        thread.start()
    except BaseException:
        _release()
        raise


def _run(
    base: Path,
    token: str,
    state: dict[str, Any],
    model: ProcessModel,
    mapper: ActivityMapper,
    limit: int,
    budget: Budget,
) -> None:
    try:
        _check(base, token, state, model, mapper, limit, budget)
    finally:
        _release()


def _check(
    base: Path,
    token: str,
    state: dict[str, Any],
    model: ProcessModel,
    mapper: ActivityMapper,
    limit: int,
    budget: Budget,
) -> None:
    state.pop("token", None)
    last = [0.0]

    def advance(count: int) -> None:
        state["read"] = count
        now = time.monotonic()
        if now - last[0] >= WRITE_EVERY:
            last[0] = now
            _write_state(base, token, state)

    try:
        state["status"] = "reading"
        _write_state(base, token, state)
        imported = _read(base / f"{token}.log", state, mapper, advance, limit)
        state["status"] = "checking"
        _write_state(base, token, state)
        findings = check_log(imported.log, model, budget=budget)
        state["result"] = {
            "import": asdict(imported.summary()),
            "rejected": [r.__dict__ for r in imported.rejected[:SHOWN_REJECTS]],
            "findings": findings_view(findings),
        }
        state["status"] = "done"
    except logs.LogUnreadable as exc:
        state["status"], state["error"] = "failed", str(exc)
    except Exception as exc:  # a failed job must say so rather than stay "reading" forever
        current = state.get("status")
        state["status"], state["error"] = "failed", f"unexpected error while {current}: {type(exc).__name__}"
    _write_state(base, token, state)
