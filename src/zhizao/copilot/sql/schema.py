"""Schema introspection: tables, columns, types, keys, comments, join paths and cell values.

What the parser links words to. Types are reduced to kinds (text, int, float, date, timestamp,
bool); text columns with few distinct values keep those values so that "CNC-01", "L1" or
"breakdown" in a question can be recognised as filters.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from zhizao.copilot.sql.db import Database

#: text columns with at most this many distinct values keep them as linkable cell values
MAX_CELL_VALUES = 60
KEY_SUFFIXES = ("_id", "_code", "_no", "_key", "id", "_num", "_sn")


@dataclass
class Column:
    table: str
    name: str
    kind: str  # text | int | float | date | timestamp | bool | other
    comment: str = ""
    values: list[str] | None = None  # distinct values of a low-cardinality text column
    unique: bool = False

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "float")

    @property
    def temporal(self) -> bool:
        return self.kind in ("date", "timestamp")

    @property
    def key_like(self) -> bool:
        lowered = self.name.lower()
        return lowered == "id" or lowered.endswith(KEY_SUFFIXES) or lowered.endswith(("编号", "编码", "代码"))

    @property
    def qualified(self) -> str:
        return f"{self.table}.{self.name}"


@dataclass
class Table:
    name: str
    comment: str = ""
    columns: list[Column] = field(default_factory=list)
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)  # (column, ref table, ref column)
    row_count: int = 0

    def column(self, name: str) -> Column | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None


@dataclass(frozen=True)
class Join:
    """``left.left_column = right.right_column``; ``right_column`` is unique in ``right``."""

    left: str
    left_column: str
    right: str
    right_column: str


@dataclass
class Schema:
    tables: dict[str, Table]
    dialect: str
    joins: list[Join] = field(default_factory=list)

    def columns(self) -> list[Column]:
        return [c for t in self.tables.values() for c in t.columns]

    def neighbours(self, table: str) -> list[tuple[str, Join]]:
        """Tables one join away (either direction)."""
        found = []
        for join in self.joins:
            if join.left == table:
                found.append((join.right, join))
            elif join.right == table:
                found.append((join.left, join))
        return found

    def join_path(self, start: str, goal: str, many_to_one: bool = False) -> list[Join] | None:
        """Shortest join path from ``start`` to ``goal`` following many-to-one edges first.

        Going fact → dimension (left → right) never multiplies rows; a path that needs a
        one-to-many step is still returned (shortest), callers decide whether to use it.
        """
        if start == goal:
            return []
        best: list[Join] | None = None
        for one_way in ((True,) if many_to_one else (True, False)):
            queue: deque[tuple[str, list[Join]]] = deque([(start, [])])
            seen = {start}
            while queue:
                table, path = queue.popleft()
                for join in self.joins:
                    if join.left == table:
                        nxt = join.right
                    elif join.right == table and not one_way:
                        nxt = join.left
                    else:
                        continue
                    if nxt in seen:
                        continue
                    if nxt == goal:
                        best = path + [join]
                        return best
                    seen.add(nxt)
                    queue.append((nxt, path + [join]))
        return best


def introspect(db: Database) -> Schema:
    """Read the schema of ``db`` (tables, columns, keys, comments, join paths, cell values)."""
    tables = _introspect_duckdb(db) if db.dialect == "duckdb" else _introspect_sqlalchemy(db)
    schema = Schema(tables=tables, dialect=db.dialect)
    _profile(db, schema)
    schema.joins = _infer_joins(schema)
    return schema


def _kind(type_name: str) -> str:
    t = type_name.lower()
    if "timestamp" in t or "datetime" in t:
        return "timestamp"
    if t.startswith("date"):
        return "date"
    if t.startswith(("bool", "bit")) or t == "tinyint(1)":
        return "bool"
    if any(k in t for k in ("int", "serial")):
        return "int"
    if any(k in t for k in ("numeric", "decimal", "real", "double", "float", "money", "number")):
        return "float"
    if any(k in t for k in ("char", "text", "string", "clob", "enum", "uuid", "varchar")):
        return "text"
    if t == "":
        return "text"
    return "other"


def _introspect_duckdb(db: Database) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    rows = db.query("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = current_schema() "
                    "AND NOT internal ORDER BY table_name", max_rows=100_000).rows
    rows += db.query("SELECT view_name, comment FROM duckdb_views() WHERE schema_name = current_schema() "
                     "AND NOT internal ORDER BY view_name", max_rows=100_000).rows
    for name, comment in rows:
        tables[name] = Table(name=name, comment=comment or "")
    for table, name, type_name, comment in db.query(
            "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
            "WHERE schema_name = current_schema() ORDER BY table_name, column_index", max_rows=1_000_000).rows:
        if table in tables:
            tables[table].columns.append(Column(table, name, _kind(type_name), comment or ""))
    for table, ctype, cols, ref_table, ref_cols in db.query(
            "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
            "referenced_column_names FROM duckdb_constraints() WHERE schema_name = current_schema()",
            max_rows=100_000).rows:
        if table not in tables:
            continue
        if ctype == "PRIMARY KEY":
            tables[table].primary_key = list(cols)
        elif ctype == "FOREIGN KEY" and ref_table:
            for col, ref in zip(cols, ref_cols or [], strict=False):
                tables[table].foreign_keys.append((col, ref_table, ref))
    return tables


def _introspect_sqlalchemy(db: Database) -> dict[str, Table]:
    inspector = db.inspector()
    schema = db.schema_name
    tables: dict[str, Table] = {}
    names = list(inspector.get_table_names(schema=schema)) + list(inspector.get_view_names(schema=schema))
    for name in names:
        if name.startswith("sqlite_") or name == "alembic_version":
            continue
        try:
            comment = (inspector.get_table_comment(name, schema=schema) or {}).get("text") or ""
        except NotImplementedError:
            comment = ""
        table = Table(name=name, comment=comment)
        inline = _sqlite_inline_comments(db, name) if db.dialect == "sqlite" else {}
        table.comment = table.comment or inline.pop("", "")
        for info in inspector.get_columns(name, schema=schema):
            type_name = str(info["type"]) if info.get("type") is not None else ""
            col_comment = info.get("comment") or inline.get(info["name"], "")
            table.columns.append(Column(name, info["name"], _kind(type_name), col_comment))
        try:
            table.primary_key = list(inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or [])
            for fk in inspector.get_foreign_keys(name, schema=schema):
                for col, ref in zip(fk["constrained_columns"], fk["referred_columns"], strict=False):
                    table.foreign_keys.append((col, fk["referred_table"], ref))
        except Exception:  # noqa: BLE001 - views have no keys
            pass
        tables[name] = table
    return tables


def _sqlite_inline_comments(db: Database, table: str) -> dict[str, str]:
    """SQLite keeps no comments, but ``CREATE TABLE`` text may carry ``-- comment`` after a column."""
    rows = db.query(f"SELECT sql FROM sqlite_master WHERE name = '{table.replace(chr(39), '')}'").rows
    found: dict[str, str] = {}
    text = rows[0][0] if rows and rows[0][0] else ""
    head = re.match(r"\s*CREATE\s+TABLE[^(]*\(\s*--\s*(.+)", text, re.IGNORECASE)
    if head:
        found[""] = head.group(1).strip()  # the table's own comment
    for line in text.splitlines()[1:]:
        match = re.match(r'\s*["`\[]?(\w+)["`\]]?\s+[^-]*--\s*(.+)$', line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def quote(name: str, dialect: str = "duckdb") -> str:
    """An identifier as SQL of ``dialect`` (quoted only when it must be; backticks on MySQL)."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name.upper() not in _RESERVED:
        return name
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


_RESERVED = {"ORDER", "GROUP", "SELECT", "FROM", "WHERE", "TABLE", "USER", "DESC", "ASC", "KEY", "LIMIT", "BY",
             "TO", "AS", "ON", "IN", "IS", "NOT", "AND", "OR", "CHECK", "DEFAULT", "CASE", "END", "WHEN", "INDEX",
             "RANGE", "ROWS", "YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "DATE", "TIME", "TIMESTAMP",
             "INTERVAL", "LEVEL", "POSITION", "VALUE", "VALUES", "NAME", "TYPE", "STATUS", "COMMENT", "SHIFT",
             "LINE", "COUNT", "SUM", "ALL", "ANY", "SOME", "UNION", "LEFT", "RIGHT", "INNER", "OUTER", "JOIN"}


def _profile(db: Database, schema: Schema) -> None:
    """Row counts, uniqueness of key-like columns and distinct values of low-cardinality text columns."""
    def q(name: str) -> str:
        return quote(name, db.dialect)

    for table in schema.tables.values():
        qt = q(table.name)
        parts = ["COUNT(*)"]
        probe = [c for c in table.columns if c.kind in ("text", "int") or c.key_like]
        parts += [f"COUNT(DISTINCT {q(c.name)})" for c in probe]
        try:
            counts = db.query(f"SELECT {', '.join(parts)} FROM {qt}").rows[0]
        except Exception:  # noqa: BLE001 - an unreadable table is skipped, not fatal
            continue
        table.row_count = int(counts[0] or 0)
        for column, distinct in zip(probe, counts[1:], strict=True):
            distinct = int(distinct or 0)
            column.unique = table.row_count > 0 and distinct == table.row_count
            if column.kind == "text" and 0 < distinct <= MAX_CELL_VALUES:
                values = db.query(f"SELECT DISTINCT {q(column.name)} FROM {qt} "
                                  f"WHERE {q(column.name)} IS NOT NULL", max_rows=MAX_CELL_VALUES + 1).rows
                column.values = sorted(str(v[0]) for v in values)
        if len(table.primary_key) == 1:
            pk = table.column(table.primary_key[0])
            if pk is not None:
                pk.unique = True


def _infer_joins(schema: Schema) -> list[Join]:
    """Declared foreign keys, plus key-like columns whose name matches a unique key of another table."""
    joins: list[Join] = []
    seen: set[tuple[str, str, str, str]] = set()

    def add(left: str, lcol: str, right: str, rcol: str) -> None:
        key = (left, lcol, right, rcol)
        if key not in seen and left != right:
            seen.add(key)
            joins.append(Join(left, lcol, right, rcol))

    for table in schema.tables.values():
        for col, ref_table, ref_col in table.foreign_keys:
            if ref_table in schema.tables:
                add(table.name, col, ref_table, ref_col)
    unique_keys: dict[str, list[tuple[str, str]]] = {}
    names: dict[str, int] = {}
    for table in schema.tables.values():
        for column in table.columns:
            names[column.name.lower()] = names.get(column.name.lower(), 0) + 1
    for table in schema.tables.values():
        for column in table.columns:
            shared_text_key = column.kind == "text" and names[column.name.lower()] > 1
            if column.unique and (column.key_like or column.name in table.primary_key or shared_text_key):
                unique_keys.setdefault(column.name.lower(), []).append((table.name, column.name))
    for table in schema.tables.values():
        for column in table.columns:
            for other, other_col in unique_keys.get(column.name.lower(), []):
                if other != table.name and not (column.unique and column.name in table.primary_key
                                                and len(table.primary_key) == 1 and table.row_count
                                                < schema.tables[other].row_count):
                    add(table.name, column.name, other, other_col)
            # "machine_id" in a fact table → table "machine(s)" with key "id"
            base = re.sub(r"_?(id|code|no)$", "", column.name.lower())
            if base and base != column.name.lower():
                for other in schema.tables.values():
                    if other.name.lower().rstrip("s") in (base, base + "e") and other.name != table.name:
                        for key in ("id", "code", "no"):
                            target = other.column(key)
                            if target is not None and target.unique:
                                add(table.name, column.name, other.name, key)
    # 1:1 pairs produce both directions; keep them, the path search treats them as many-to-one
    return joins
