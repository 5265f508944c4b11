"""A library several people use at once (PostgreSQL): who a client is, and one user decision at a time.

Each :class:`~faceorg.store.db.Library` has a client id (``$FACEORG_CLIENT``, else ``user@computer``):
the undo log records it, so undo takes back only the caller's own operations. User decisions and the
writes of automatic grouping take :func:`lock_decisions` (a transaction-level advisory lock on
PostgreSQL), so each one sees every decision committed before it, and can refuse to overwrite a change
its user has not seen (:mod:`faceorg.people.undo`).
"""

from __future__ import annotations

import getpass
import os
import socket

from sqlalchemy import text
from sqlalchemy.orm import Session

CLIENT_ENV = "FACEORG_CLIENT"
DECISIONS_LOCK_KEY = 0x6661636F7267_03  # "faceorg" + 3


def default_client() -> str:
    """This user on this computer (``$FACEORG_CLIENT`` overrides): who the undo log says did an operation."""
    override = os.environ.get(CLIENT_ENV)
    if override:
        return override[:128]
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or the password database
        user = "user"
    return f"{user}@{socket.gethostname()}"[:128]


def lock_decisions(session: Session) -> None:
    """Wait until no other client is writing a decision, then hold that turn until this transaction ends
    (call it first in the transaction). PostgreSQL: an advisory lock; SQLite: the write lock, taken now
    (``BEGIN IMMEDIATE``) rather than at the first write, so what the transaction reads is not stale."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": DECISIONS_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        raw = conn.connection.dbapi_connection
        if raw is not None and not getattr(raw, "in_transaction", True):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
