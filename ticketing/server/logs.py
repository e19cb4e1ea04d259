"""One log file per component, and the serious lines on stderr too; both bounded.

Several processes share one data directory, so each writes its own file
(``<data_dir>/logs/<component>.log``) and every line names its component: lines
pasted together from several files still say where they came from. Warnings
and errors also go to stderr, where the launcher captures them to report why a
component died.

Nothing a stranger sends may fill the disk (the logs share it with the
SQLite files):

* a connection refused or garbled (a wrong serializer id, bytes that are not
  Pyro5, a hello without the secret) is logged as one short line, without
  Pyro5's traceback, and at most ``REFUSALS_PER_PERIOD`` such lines of one
  reason per ``REFUSAL_PERIOD`` seconds; the next line after a quiet spell
  says how many were left out (``_Refusals``);
* every file rotates at ``max_bytes`` and keeps ``backups`` old ones
  (``LOG_MAX_BYTES``, ``LOG_BACKUPS``; ``$TICKETING_LOG_MAX_BYTES`` and
  ``$TICKETING_LOG_BACKUPS`` override them). That holds for the launcher's
  ``<label>.out`` file too: when stderr is a file (the launcher's redirect),
  the stderr lines go through a rotating handler on that same file, which
  points the process's stdout and stderr at the new file on each rotation,
  so even an interpreter's dying traceback lands in the current one.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOG_DIR = "logs"
LOG_MAX_BYTES = 5 * 1024 * 1024  # a log file rotates at this size ...
LOG_BACKUPS = 3  # ... keeping this many old ones: 20 MiB per file at most
MAX_BYTES_ENV = "TICKETING_LOG_MAX_BYTES"
BACKUPS_ENV = "TICKETING_LOG_BACKUPS"
REFUSALS_PER_PERIOD = 10  # lines of one refusal reason ...
REFUSAL_PERIOD = 60.0  # ... per this many seconds
MAX_REFUSAL_LINE = 200  # characters of a refusal's message (a peer's bytes may be in it)
_FORMAT = "%(asctime)s %(levelname)s {component} [%(threadName)s] %(name)s: %(message)s"
_PYRO_PACKAGE = os.sep + "Pyro5" + os.sep
# Loggers whose warnings are about what a peer sent: a refused or garbled connection.
_REFUSING_LOGGERS = ("Pyro5", "ticketing.security.membership")


def log_path(data_dir: str | Path, component: str) -> Path:
    """Where ``component`` writes its log inside ``data_dir``."""
    return Path(data_dir) / LOG_DIR / f"{component}.log"


def setup_logging(data_dir: str | Path, component: str, level: int = logging.INFO) -> Path:
    """Send this process's logging to its component file and stderr; returns the file.

    Safe to call more than once (an entry script and ``hosting.serve`` both
    may): the handlers of an earlier call are replaced, not doubled.
    """
    path = log_path(data_dir, component)
    path.parent.mkdir(parents=True, exist_ok=True)
    formatter = logging.Formatter(_FORMAT.format(component=component))
    max_bytes, backups = _size_cap()
    refusals = _Refusals(RateLimit(REFUSALS_PER_PERIOD, REFUSAL_PERIOD))

    to_file = logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    to_file.setLevel(level)
    to_stderr = _stderr_handler(max_bytes, backups)
    to_stderr.setLevel(logging.WARNING)

    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_ticketing", False)]:
        root.removeHandler(handler)
        handler.close()
    for handler in (to_file, to_stderr):
        handler.setFormatter(formatter)
        handler.addFilter(refusals)
        handler._ticketing = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(min(level, logging.WARNING))
    logging.captureWarnings(True)
    # Pyro5 silences its own logger unless PYRO_LOGLEVEL is set; its warnings
    # (a connection refused for lack of worker threads, a broken request) matter.
    logging.getLogger("Pyro5").setLevel(logging.WARNING)
    pyro_server = logging.getLogger("Pyro5.threadpoolserver")
    if not any(isinstance(f, _IdleTimeoutIsRoutine) for f in pyro_server.filters):
        pyro_server.addFilter(_IdleTimeoutIsRoutine())
    return path


def _size_cap() -> tuple[int, int]:
    """(bytes per file, old files kept): the defaults, or the environment's."""
    try:
        max_bytes = int(os.environ.get(MAX_BYTES_ENV, LOG_MAX_BYTES))
        backups = int(os.environ.get(BACKUPS_ENV, LOG_BACKUPS))
    except ValueError:
        return LOG_MAX_BYTES, LOG_BACKUPS
    return max(max_bytes, 1024), max(backups, 1)


def _stderr_handler(max_bytes: int, backups: int) -> logging.Handler:
    """A rotating handler on the file stderr is redirected to, else a plain stream handler."""
    out = _stderr_file()
    if out is None:
        return logging.StreamHandler(sys.stderr)
    return _RotatingStdio(out, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")


def _stderr_file() -> Path | None:
    """The regular file this process's stderr writes to, if it is one (Linux only)."""
    try:
        info = os.fstat(2)
        if not stat.S_ISREG(info.st_mode):
            return None
        path = Path(os.readlink("/proc/self/fd/2"))
        named = path.stat()
    except OSError:
        return None
    same = (named.st_dev, named.st_ino) == (info.st_dev, info.st_ino)
    return path if same else None


class _RotatingStdio(logging.handlers.RotatingFileHandler):
    """Rotates the file stderr (and stdout, when it is the same) writes to.

    After each rollover the process's file descriptors 1 and 2 are pointed at
    the new file, so what is written to them directly (an uncaught
    exception's traceback, ``print``) lands there and stays within the cap.
    """

    def doRollover(self) -> None:
        previous = os.fstat(2)
        stdout_too = _same_file(1, previous)
        super().doRollover()
        if self.stream is None:
            return
        self.stream.flush()
        os.dup2(self.stream.fileno(), 2)
        if stdout_too:
            os.dup2(self.stream.fileno(), 1)


def _same_file(fd: int, info: os.stat_result) -> bool:
    try:
        other = os.fstat(fd)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (info.st_dev, info.st_ino)


@dataclass(slots=True)
class _Reason:
    began: float  # when the current period began
    told: int = 0  # lines let through in this period
    left_out: int = 0  # lines dropped since the last one let through


class RateLimit:
    """At most ``burst`` events of one key per ``period`` seconds (pure: time is passed in).

    Keys are reasons (a logger and the line of code that logs), a set the code
    fixes, never something a peer chooses, so the table stays small.
    """

    def __init__(self, burst: int, period: float) -> None:
        self.burst = burst
        self.period = period
        self._lock = threading.Lock()
        self._reasons: dict[Any, _Reason] = {}

    def allow(self, key: Any, now: float) -> tuple[bool, int]:
        """Whether an event of ``key`` goes through now, and how many were dropped before it."""
        with self._lock:
            reason = self._reasons.get(key)
            if reason is None:
                reason = self._reasons[key] = _Reason(now)
            if now - reason.began >= self.period:
                reason.began, reason.told = now, 0
            if reason.told >= self.burst:
                reason.left_out += 1
                return False, 0
            reason.told += 1
            dropped, reason.left_out = reason.left_out, 0
            return True, dropped


class _Refusals(logging.Filter):
    """Refused or garbled connections: one short line each, rate-limited per reason.

    A record is one when it comes from a logger that speaks of what peers
    send (Pyro5's servers, the members-only handshake), or is a warning or
    worse that carries an exception raised inside Pyro5 itself (the multiplexer's "serving
    a request failed" on bytes Pyro5 could not read). Others pass untouched:
    our own failures keep their tracebacks.
    """

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._limit = limit
        self._clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        # A record passes every handler's filter: decide once, for all of them.
        verdict = getattr(record, "_refusal_verdict", None)
        if verdict is None:
            verdict = self._decide(record)
            record._refusal_verdict = verdict  # type: ignore[attr-defined]
        return verdict

    def _decide(self, record: logging.LogRecord) -> bool:
        if not _is_refusal(record):
            return True
        # The line of code that logged it: Pyro5 pastes a peer's error text into some of
        # its messages, which must not make each variant a reason of its own.
        reason = (record.name, record.pathname, record.lineno)
        allowed, dropped = self._limit.allow(reason, self._clock())
        if not allowed:
            return False
        line = _first_line(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line += f": {type(error).__name__}: {_first_line(str(error))}"
        line = ascii(line)[1:-1][:MAX_REFUSAL_LINE]  # a peer's bytes, printable
        if dropped:
            line += f" ({dropped} more like it left out)"
        record.msg, record.args = line, None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _is_refusal(record: logging.LogRecord) -> bool:
    if record.name.startswith(_REFUSING_LOGGERS):
        # Their warnings, and those demoted to INFO (``_IdleTimeoutIsRoutine``).
        return record.levelno >= logging.INFO
    if record.levelno < logging.WARNING or not record.exc_info or record.exc_info[2] is None:
        return False
    innermost = record.exc_info[2]  # walked, not extract_tb: no source lines read in a flood
    while innermost.tb_next is not None:
        innermost = innermost.tb_next
    return _PYRO_PACKAGE in innermost.tb_frame.f_code.co_filename


def _first_line(text: str) -> str:
    """The message before any traceback Pyro5 pasted into it."""
    return text.split("; Traceback", 1)[0].split("\n", 1)[0].strip()


class _IdleTimeoutIsRoutine(logging.Filter):
    """Pyro5 warns each time it closes a connection idle past ``COMMTIMEOUT``.

    That is the intended way idle peers give their worker thread back (see
    ``pyro_config``), so it is logged at INFO: kept in the file, off stderr.
    """

    IDLE_MESSAGE = "error during handleRequest: receiving: timeout"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and record.getMessage() == self.IDLE_MESSAGE:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True
