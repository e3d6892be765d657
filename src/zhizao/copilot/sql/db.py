"""Read-only connections to the databases the copilot answers questions about.

PostgreSQL, MySQL/MariaDB and SQLite go through SQLAlchemy (psycopg 3, PyMySQL, sqlite3);
DuckDB is used through its own Python API (no SQLAlchemy dialect is installed). Every query
runs read-only with a statement timeout and returns at most ``max_rows`` rows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


class QueryError(RuntimeError):
    """A query failed in the database (bad SQL, timeout, connection lost)."""


@dataclass
class Result:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


def plain(value: Any) -> Any:
    """A JSON-friendly cell: dates as ISO text, decimals as float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, dtime)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


class Database:
    """One external (or platform) database given by URL.

    ``dialect`` is the sqlglot dialect name: ``postgres``, ``mysql``, ``sqlite`` or ``duckdb``.
    """

    def __init__(self, url: str, *, timeout_s: float = 10.0, max_rows: int = 5000) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.max_rows = max_rows
        self.schema_name: str | None = None
        scheme = urlsplit(url).scheme.lower()
        self._lock = threading.Lock()
        if scheme.startswith("duckdb"):
            import duckdb

            self.dialect = "duckdb"
            path = _file_path(url)
            self._duck = duckdb.connect(path, read_only=True)
            self._engine = None
            return
        from sqlalchemy import create_engine

        self._duck = None
        query = parse_qs(urlsplit(url).query)
        self.schema_name = (query.get("schema") or [None])[0]
        if scheme.startswith("postgres"):
            self.dialect = "postgres"
            sa_url = "postgresql+psycopg://" + url.split("://", 1)[1]
            options = {}
            if self.schema_name:
                sa_url = _drop_query_param(sa_url, "schema")
                options["options"] = f"-csearch_path={self.schema_name}"
            self._engine = create_engine(sa_url, connect_args=options, pool_pre_ping=True)
        elif scheme.startswith(("mysql", "mariadb")):
            self.dialect = "mysql"
            self._engine = create_engine("mysql+pymysql://" + url.split("://", 1)[1], pool_pre_ping=True)
        elif scheme.startswith("sqlite"):
            self.dialect = "sqlite"
            path = _file_path(url)
            resolved = Path(path).resolve()
            self._engine = create_engine("sqlite://", creator=lambda: _sqlite_ro(resolved))
        else:
            raise QueryError(f"unsupported database URL scheme {scheme!r} (postgresql, mysql, sqlite, duckdb)")
        try:
            with self._engine.connect():
                pass
        except Exception as error:  # noqa: BLE001 - reported with the URL's kind
            raise QueryError(f"cannot connect to the {self.dialect} database: {_first_line(error)}") from error

    # -- queries -----------------------------------------------------------------------------------------------
    def query(self, sql: str, *, max_rows: int | None = None) -> Result:
        """Run one (already checked) SELECT read-only with the timeout; at most ``max_rows`` rows."""
        limit = max_rows or self.max_rows
        try:
            if self._duck is not None:
                return self._query_duckdb(sql, limit)
            return self._query_sqlalchemy(sql, limit)
        except QueryError:
            raise
        except Exception as error:  # noqa: BLE001 - any driver error becomes a QueryError
            raise QueryError(_first_line(error)) from error

    def _query_duckdb(self, sql: str, limit: int) -> Result:
        with self._lock:
            cursor = self._duck.cursor()
            timer = threading.Timer(self.timeout_s, cursor.interrupt)
            timer.start()
            try:
                cursor.execute(sql)
                columns = [d[0] for d in cursor.description]
                rows = cursor.fetchmany(limit + 1)
            except Exception as error:  # noqa: BLE001
                if not timer.is_alive():
                    raise QueryError(f"statement timeout ({self.timeout_s:g} s)") from error
                raise
            finally:
                timer.cancel()
                cursor.close()
        return _result(columns, rows, limit)

    def _query_sqlalchemy(self, sql: str, limit: int) -> Result:
        from sqlalchemy import text

        with self._engine.connect() as connection:
            raw = connection.connection.dbapi_connection
            started = time.monotonic()
            if self.dialect == "postgres":
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(self.timeout_s * 1000)}")
            elif self.dialect == "mysql":
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                version = connection.exec_driver_sql("SELECT VERSION()").scalar() or ""
                if "mariadb" in version.lower():
                    connection.exec_driver_sql(f"SET SESSION max_statement_time = {self.timeout_s:g}")
                else:
                    connection.exec_driver_sql(f"SET SESSION max_execution_time = {int(self.timeout_s * 1000)}")
            elif self.dialect == "sqlite":
                deadline = started + self.timeout_s
                raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
            try:
                cursor = connection.execute(text(sql.replace(":", r"\:")))
                columns = list(cursor.keys())
                rows = cursor.fetchmany(limit + 1)
            except Exception as error:  # noqa: BLE001
                if time.monotonic() - started >= self.timeout_s * 0.95:
                    raise QueryError(f"statement timeout ({self.timeout_s:g} s)") from error
                raise
            finally:
                if self.dialect == "sqlite":
                    raw.set_progress_handler(None, 0)
                connection.rollback()
        return _result(columns, [tuple(r) for r in rows], limit)

    def inspector(self):
        """A SQLAlchemy inspector (not for DuckDB)."""
        from sqlalchemy import inspect

        return inspect(self._engine)

    def close(self) -> None:
        if self._duck is not None:
            self._duck.close()
        elif self._engine is not None:
            self._engine.dispose()


def _result(columns: list[str], rows: list[tuple], limit: int) -> Result:
    truncated = len(rows) > limit
    return Result(list(columns), [[plain(v) for v in row] for row in rows[:limit]], truncated)


def _file_path(url: str) -> str:
    """The file of ``sqlite:///x.db`` / ``duckdb:///x.duckdb`` (relative) or ``...:////abs/x.db``; a leading
    slash is also accepted as absolute when the relative reading does not exist."""
    rest = url.split("://", 1)[1].split("?", 1)[0]
    path = rest[1:] if rest.startswith("/") else rest
    if not path or path == ":memory:":
        raise QueryError(f"the database URL needs a file path: {url}")
    if not Path(path).exists() and Path("/" + path).exists():
        path = "/" + path
    if not Path(path).exists():
        raise QueryError(f"database file not found: {path}")
    return path


def _sqlite_ro(path: Path):
    import sqlite3

    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def _drop_query_param(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith(name + "=")]
    return base + ("?" + "&".join(kept) if kept else "")


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
