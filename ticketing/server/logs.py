"""One log file per component, and the serious lines on stderr too.

Several processes share one data directory, so each writes its own file
(``<data_dir>/logs/<component>.log``) and every line names its component: lines
pasted together from several files still say where they came from. Warnings
and errors also go to stderr, where the launcher captures them to report why a
component died.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_DIR = "logs"
_FORMAT = "%(asctime)s %(levelname)s {component} [%(threadName)s] %(name)s: %(message)s"


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

    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(formatter)
    to_file.setLevel(level)
    to_stderr = logging.StreamHandler(sys.stderr)
    to_stderr.setFormatter(formatter)
    to_stderr.setLevel(logging.WARNING)

    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_ticketing", False)]:
        root.removeHandler(handler)
        handler.close()
    for handler in (to_file, to_stderr):
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
