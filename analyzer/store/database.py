"""Opening the database behind a store: URL resolution, engine settings, and turning the
database's own failures (locked, read-only, disk full, unreachable) into one-line errors.

SQLite runs in WAL mode, so readers keep reading while an import writes; each write
transaction starts with ``BEGIN IMMEDIATE`` and waits up to the busy timeout for another
writer. PostgreSQL serializes imports with an advisory lock; readers use MVCC snapshots.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from analyzer.errors import AnalyzerError

ENV_DB = "THREAD_ANALYZER_DB"
ENV_BUSY_TIMEOUT = "THREAD_ANALYZER_BUSY_TIMEOUT"  # seconds a writer waits for another writer
DEFAULT_DB = "thread_analyzer.db"
DEFAULT_BUSY_TIMEOUT = 30.0
WRITE = "store_write"  # execution option: this connection's transaction will write

# Keys for PostgreSQL transaction-level advisory locks.
IMPORT_LOCK = 0x7468_7265_6164_01  # "thread" 1
MIGRATE_LOCK = 0x7468_7265_6164_02


class StoreError(AnalyzerError):
    """The store cannot be opened, read or written (locked, read-only, full, unreachable)."""


def resolve_url(db: str | os.PathLike[str] | URL | None = None) -> URL:
    """The store's URL: ``db`` if given, else $THREAD_ANALYZER_DB, else ./thread_analyzer.db.
    A bare path means an SQLite file; ``postgresql://`` gets the psycopg 3 driver."""
    if isinstance(db, URL):
        url = db
    else:
        value = os.fspath(db) if db else (os.environ.get(ENV_DB) or DEFAULT_DB)
        if "://" not in value:
            return URL.create("sqlite", database=str(Path(value).expanduser().absolute()))
        try:
            url = make_url(value)
        except exc.ArgumentError as e:
            raise StoreError(f"not a database URL: {e}") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        if "+" not in url.drivername:  # plain postgresql://: psycopg 3, not SQLAlchemy's default psycopg2
            url = url.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise StoreError(f"unsupported database {backend!r}: use an SQLite file or a postgresql+psycopg:// URL")
    return url


def describe(url: URL) -> str:
    """The URL for messages, password hidden."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _json_dumps(value: Any) -> str:
    # ASCII escapes keep odd characters (lone surrogates, NUL) storable; unknown types as text.
    return json.dumps(value, ensure_ascii=True, default=str, separators=(",", ":"))


def busy_timeout() -> float:
    raw = os.environ.get(ENV_BUSY_TIMEOUT)
    try:
        return float(raw) if raw else DEFAULT_BUSY_TIMEOUT
    except ValueError:
        raise StoreError(f"{ENV_BUSY_TIMEOUT} must be a number of seconds, not {raw!r}") from None


def make_engine(url: URL) -> Engine:
    """An engine with this project's settings for SQLite or PostgreSQL (no connection yet)."""
    if url.get_backend_name() == "postgresql":
        return create_engine(url, json_serializer=_json_dumps, pool_pre_ping=True)
    timeout = busy_timeout()
    memory = url.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {}
    if memory:
        kwargs["poolclass"] = StaticPool
    elif read_only_reason(url) is not None:
        kwargs["creator"] = _read_only_connector(Path(url.database or ""), timeout)
    engine = create_engine(
        url,
        json_serializer=_json_dumps,
        # isolation_level=None: the driver never opens transactions by itself; "begin" below does.
        connect_args={"isolation_level": None, "timeout": timeout, "check_same_thread": False},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            cur.execute("PRAGMA foreign_keys = ON")
            if not memory:
                try:
                    cur.execute("PRAGMA journal_mode = WAL")
                except Exception:  # a read-only file: readable as it is
                    pass
                cur.execute("PRAGMA synchronous = NORMAL")  # safe in WAL: a crash never corrupts
                cur.execute("PRAGMA journal_size_limit = 67108864")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so a
        # writer never fails half-way on a lock upgrade; readers get a WAL snapshot.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

    return engine


def _read_only_connector(path: Path, timeout: float) -> Callable[[], Any]:
    """Connections to a store file this process cannot write: SQLite's read-only mode, and
    "immutable" when WAL mode could not work (no -wal/-shm files beside it and none can be
    made there), so the store is still readable; every write is refused as read-only."""
    import sqlite3
    from urllib.parse import quote

    def connect() -> Any:
        query = "mode=ro"
        wal = path.with_name(path.name + "-wal").exists() or path.with_name(path.name + "-shm").exists()
        if (not wal and not os.access(path.parent, os.W_OK)) or _mounted_read_only(path):
            query += "&immutable=1"
        return sqlite3.connect(
            f"file:{quote(str(path))}?{query}", uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
        )

    return connect


def _mounted_read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs on this platform
        return False


def check_sqlite_path(url: URL, *, create: bool) -> None:
    """Fail early, with the path, when an SQLite store cannot exist where asked."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if url.database.startswith("file:"):
        return  # an SQLite URI (e.g. ?mode=ro): let SQLite judge
    path = Path(url.database)
    if path.is_dir():
        raise StoreError("is a directory, not a store file", source=str(path))
    if not path.exists():
        if not create:
            raise StoreError("no store here yet; run `analyzer ingest` first or pass --db", source=str(path))
        if not path.parent.is_dir():
            raise StoreError("the directory for the store does not exist", source=str(path))


_SQLITE_MESSAGES = (
    ("database is locked", "the store is busy: another process is writing to it; try again when it is done"),
    ("readonly database", "the store is read-only: open it with write access to change it"),
    ("read-only", "the store is read-only: open it with write access to change it"),
    ("database or disk is full", "the disk (or the store's size limit) is full; nothing was written"),
    ("disk i/o error", "the disk failed while writing the store; nothing was written"),
    ("unable to open database file", "cannot open the store file (missing directory or no permission)"),
    ("file is not a database", "not a thread-analyzer store (this file is not an SQLite database)"),
    ("database disk image is malformed", "the store file is damaged"),
)
_PG_STATES = {
    "53100": "the database server's disk is full; nothing was written",
    "53200": "the database server is out of memory",
    "25006": "the store is read-only (a read-only transaction or standby server)",
    "42501": "no permission for this on the store's database",
    "3D000": "the database does not exist",
    "28P01": "wrong password for the database",
    "28000": "the database refused the login",
    "55P03": "the store is busy: another process holds a lock; try again",
    "57P03": "the database server is starting up or shutting down",
}


def _explain(error: exc.DBAPIError) -> str | None:
    orig = error.orig
    state = getattr(orig, "sqlstate", None)
    if state in _PG_STATES:
        return _PG_STATES[state]
    if state and state.startswith("08"):
        return f"cannot connect to the database server: {str(orig).strip().splitlines()[0]}"
    text = str(orig).lower()
    if "connection" in text and ("refused" in text or "failed" in text):
        return f"cannot connect to the database server: {str(orig).strip().splitlines()[0]}"
    for needle, message in _SQLITE_MESSAGES:
        if needle in text:
            return message
    return None


def read_only_reason(url: URL) -> str | None:
    """Why an existing SQLite store file cannot be written (its filesystem, the file, or its
    folder, where SQLite must create the -wal and -shm files of WAL mode), or None."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or url.database.startswith("file:"):
        return None
    path = Path(url.database)
    if not path.is_file():
        return None
    if _mounted_read_only(path):
        return "its filesystem is mounted read-only"
    if not os.access(path, os.W_OK):
        return "no write permission on the store file"
    if not os.access(path.parent, os.W_OK):
        return "no write permission on the store's folder (SQLite keeps its -wal and -shm files there)"
    return None


@contextmanager
def translate_errors(url: URL) -> Iterator[None]:
    """Re-raise the database's environment failures as StoreError naming the store; other
    errors (bugs) pass through unchanged."""
    try:
        yield
    except (exc.OperationalError, exc.DatabaseError, exc.InterfaceError) as e:
        message = _explain(e)
        if message is not None and ("cannot open" in message or "read-only" in message):
            reason = read_only_reason(url)
            if reason is not None:
                message = f"the store is read-only: {reason}"
        if message is None and isinstance(e, exc.OperationalError):
            message = str(e.orig).strip().splitlines()[0] if e.orig else str(e)
        if message is None:
            raise
        raise StoreError(message, source=describe(url)) from e
    except OSError as e:  # e.g. ENOSPC while SQLite grows the WAL, or export files
        raise StoreError(f"{e.strerror or e}", source=describe(url)) from e


class Database:
    """An open database and its transactions: what the store's modules (review, rules,
    alerts, scopes, the API's writes) need of a store. ``Store`` adds the thread methods and
    the opening (connect, migrate); these modules type their ``store`` argument as a
    ``Database``, so nothing below the store imports the store back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # why this process cannot write the store (an SQLite file it may only read), or None
        self.read_only: str | None = read_only_reason(engine.url)

    @property
    def url(self) -> str:
        """Where the store is, password hidden."""
        return describe(self.engine.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent snapshot for reading (WAL snapshot on SQLite, REPEATABLE READ on PostgreSQL)."""
        with translate_errors(self.engine.url), self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def write(self, *, lock: int | None = None) -> Iterator[Connection]:
        """One write transaction: SQLite takes its write lock at BEGIN; on PostgreSQL,
        ``lock`` names an advisory lock that serializes writers of that kind."""
        with translate_errors(self.engine.url), self.engine.connect() as conn:
            conn = conn.execution_options(**{WRITE: True})
            with conn.begin():
                if lock is not None and self.dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
                yield conn

    def close(self) -> None:
        self.engine.dispose()
