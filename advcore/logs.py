"""advcore's log lines: where they go (``configure``, once per server process) and how a client is named in them.

Each module that has something to say holds ``log = logging.getLogger(__name__)``: background threads log the
exception they survive (``log.exception``), and every refused abuse (a rate limit hit, a teacher-password
lockout, a forged or repeated answer, an over-budget heavy request, a refused model id) is one ``log.warning``
line naming what was refused and the client's key: its address as the rate limits count it
(``advcore.ui.limits.client_address``), a room and nickname, or ``client(session)``. Never a password, a
teacher key or a member token.
"""

from __future__ import annotations

import hashlib
import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


def configure(level: str = "INFO") -> logging.Logger:
    """Send the ``advcore`` loggers' records at ``level`` and above (``ADVLAB_LOG_LEVEL``) to stderr, one line
    each with time, level, module and thread. The handler is added once per process; a later call only sets
    the level."""
    logger = logging.getLogger("advcore")
    logger.setLevel(level)
    if not any(getattr(h, "advlab", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.advlab = True
        logger.addHandler(handler)  # records still propagate: a root handler (pytest's caplog) sees them too
    return logger


def client(session: str) -> str:
    """A browser session as a log line names it: 'session ' and 8 hex digits of its hash (the id itself is
    not written, so a log cannot be used to act as that session)."""
    return f"session {hashlib.sha256(str(session).encode()).hexdigest()[:8]}"
