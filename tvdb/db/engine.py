"""Engines for the product database: SQLite (WAL, busy timeout) by default, PostgreSQL via psycopg 3.

One engine per URL and process; the schema is brought to the newest migration the first time a process opens it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_db_engine(url: str, pre_ping: bool = True) -> Engine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)  # a fresh TVDB_HOME has no folder yet
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=pre_ping, pool_recycle=1800, pool_size=5, max_overflow=5)


_engines: dict[tuple[str, str], Engine] = {}
_engines_lock = threading.Lock()


def _cached(kind: str, url: str, build: Callable[[], Engine]) -> Engine:
    with _engines_lock:
        if (kind, url) not in _engines:
            _engines[kind, url] = build()
        return _engines[kind, url]


def _migrated(url: str) -> Engine:
    from .migrate import upgrade_to_head

    engine = create_db_engine(url)
    upgrade_to_head(engine)
    return engine


def engine_for(url: str) -> Engine:
    """The process's migrated engine for ``url``."""
    return _cached("main", url, lambda: _migrated(url))


def budget_engine(url: str) -> Engine:
    """The engine for budget, rate-limit and circuit transactions, which must serialise per service.

    PostgreSQL: an engine of its own without the pre-ping round trip (a connection the server dropped fails one
    transaction, which fails closed, and the pool replaces it); the transactions take row locks. SQLite has no row
    locks: an engine whose transactions begin IMMEDIATE, so two reservations can never read the same totals.
    """
    engine_for(url)  # migrated
    return _cached("budget", url, lambda: _create_budget_engine(url))


def settle_engine(url: str) -> Engine:
    """PostgreSQL only: autocommit connections whose commits do not wait for the disk, for settling holds."""
    engine_for(url)  # migrated
    return _cached("settle", url, lambda: _create_settle_engine(url))


def dispose_engine(url: str) -> None:
    """Close the process's connections to ``url`` (before dropping a database, say)."""
    with _engines_lock:
        engines = [_engines.pop(key) for key in [key for key in _engines if key[1] == url]]
    session_factory.cache_clear()
    budget_session_factory.cache_clear()
    for engine in engines:
        engine.dispose()


@lru_cache(maxsize=None)
def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url), expire_on_commit=False)


@lru_cache(maxsize=None)
def budget_session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(budget_engine(url), expire_on_commit=False)


def _begin_immediate(connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _create_budget_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_db_engine(url, pre_ping=False)
    engine = create_db_engine(url)

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # pysqlite must not BEGIN on its own: we BEGIN IMMEDIATE

    event.listen(engine, "begin", _begin_immediate)
    return engine


def _create_settle_engine(url: str) -> Engine:
    engine = create_db_engine(url, pre_ping=False).execution_options(isolation_level="AUTOCOMMIT")

    @event.listens_for(engine, "connect")
    def _asynchronous_commit(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
        dbapi_connection.commit()

    return engine
