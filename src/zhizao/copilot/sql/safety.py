"""Read-only guard: every statement is parsed with sqlglot before it runs.

Accepted: exactly one SELECT (UNION/INTERSECT/EXCEPT and WITH … SELECT included) that
modifies nothing, calls no function that sleeps, reads files, reaches the network or
changes settings, and is limited to ``max_rows`` rows.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp


class UnsafeSQL(ValueError):
    """The statement is not one read-only SELECT; the message says why."""


FORBIDDEN_FUNCTIONS = {
    # sleeping / resource burning
    "pg_sleep", "pg_sleep_for", "pg_sleep_until", "sleep", "benchmark", "randomblob", "zeroblob",
    # files, programs and other servers
    "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "lo_import", "lo_export", "lo_get",
    "load_file", "readfile", "writefile", "load_extension", "dblink", "dblink_exec", "read_csv", "read_csv_auto",
    "read_parquet", "read_json", "read_json_auto", "read_text", "read_blob", "glob", "parquet_scan", "csv_scan",
    "sqlite_scan", "postgres_scan", "mysql_scan", "httpfs", "system", "shell", "copy", "query", "query_table",
    # settings, locks, sessions
    "set_config", "current_setting", "pg_terminate_backend", "pg_cancel_backend", "pg_advisory_lock",
    "pg_advisory_xact_lock", "get_lock", "release_lock", "pg_reload_conf", "pg_rotate_logfile", "txid_current",
    "nextval", "setval", "lastval", "sys_exec", "sys_eval", "edit_distance_udf", "fts_main",
}
FORBIDDEN_NODES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter,
                   exp.Command, exp.Set, exp.Transaction, exp.Commit, exp.Rollback, exp.Use, exp.Pragma,
                   exp.Into, exp.LoadData, exp.Copy, exp.Attach, exp.Detach, exp.Grant, exp.TruncateTable,
                   exp.Lock)


def check_select(sql: str, dialect: str, max_rows: int) -> str:
    """Return ``sql`` as one safe SELECT with a LIMIT of at most ``max_rows``; raise UnsafeSQL otherwise."""
    text = (sql or "").strip().rstrip(";").strip()
    if not text:
        raise UnsafeSQL("empty SQL")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as error:
        raise UnsafeSQL(f"SQL does not parse: {str(error).splitlines()[0]}") from error
    if len(statements) != 1:
        raise UnsafeSQL(f"exactly one statement is allowed, got {len(statements)}")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise UnsafeSQL(f"only SELECT is allowed, got {tree.key.upper()}")
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            raise UnsafeSQL(f"{node.key.upper()} is not allowed in a read-only query")
        if isinstance(node, exp.Func):
            name = (node.sql_name() if not isinstance(node, exp.Anonymous) else node.name).lower()
            if name in FORBIDDEN_FUNCTIONS:
                raise UnsafeSQL(f"function {name} is not allowed")
        if isinstance(node, exp.Table):
            table_name = node.name.lower()
            if "://" in table_name or table_name.startswith(("/", "~")) or "." in table_name and \
                    table_name.rsplit(".", 1)[-1] in ("csv", "parquet", "json", "db", "sqlite", "duckdb"):
                raise UnsafeSQL(f"reading files ({node.name}) is not allowed")
            if isinstance(node.this, exp.Func):
                raise UnsafeSQL("table functions are not allowed")
        if isinstance(node, exp.Select) and node.args.get("locks"):
            raise UnsafeSQL("locking reads (FOR UPDATE/SHARE) are not allowed")
    limit = tree.args.get("limit")
    current = None
    if limit is not None:
        try:
            current = int(limit.expression.name) if limit.expression is not None else None
        except (ValueError, AttributeError):
            current = None
    if current is None or current > max_rows:
        tree = tree.limit(max_rows)
    return tree.sql(dialect=dialect)
