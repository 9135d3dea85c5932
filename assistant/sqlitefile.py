"""SQLite file: one local database in WAL mode that many threads and processes write at once.

Owns the connection settings (busy timeout, WAL, synchronous=NORMAL), creating the schema once,
and the write discipline shared by the feedback and project stores: every write opens its own
short connection, runs in an IMMEDIATE transaction and is retried while another writer holds the
lock, so concurrent writers (app sessions, browser tabs, server processes) never lose a write.
Errors surface as `DatabaseUnavailable` / `DatabaseBusy`; each store turns them into its own
German message.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The file cannot be opened or prepared (missing folder rights, no WAL support, …)."""


class DatabaseBusy(RuntimeError):
    """Another writer held the lock for longer than the timeout."""


class SQLiteFile:
    """A SQLite file with a schema; `read` and `write` run a function on a fresh connection."""

    def __init__(self, path: Path | str, schema: str, timeout_s: float = 30.0, foreign_keys: bool = False):
        self.path = Path(path)
        self.schema = schema
        self.timeout_s = timeout_s
        self.foreign_keys = foreign_keys
        self._init_lock = threading.Lock()
        self._ready = False

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        if self.foreign_keys:
            conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def ensure(self) -> None:
        """Create the folder, switch to WAL and create the schema (once per object)."""
        if self._ready:
            return
        with self._init_lock:
            if self._ready:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with closing(self.connect()) as conn:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    if str(mode).lower() != "wal":
                        raise DatabaseUnavailable(f"{self.path} unterstützt keinen WAL-Modus")
                    conn.executescript(self.schema)
            except (sqlite3.Error, OSError) as exc:
                raise DatabaseUnavailable(str(exc)) from exc
            self._ready = True

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in its own IMMEDIATE transaction; retry the whole transaction while the
        database is locked. `work` must only touch the connection (it may run more than once)."""
        self.ensure()
        deadline = time.monotonic() + self.timeout_s
        delay = 0.005
        while True:
            try:
                with closing(self.connect()) as conn:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        result = work(conn)
                        conn.execute("COMMIT")
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    return result
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise DatabaseBusy(str(exc)) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

    def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on a fresh connection (WAL readers never block writers)."""
        self.ensure()
        with closing(self.connect()) as conn:
            return work(conn)
