"""Frame → one SELECT in the target dialect.

SQL is written in DuckDB's dialect and transpiled by sqlglot (``STRFTIME`` becomes ``TO_CHAR``
on PostgreSQL, ``DATE_FORMAT`` on MySQL…). Joins follow the schema's join paths from the frame's
main table to the tables holding its group, filter and listed columns.
"""

from __future__ import annotations

import re
from datetime import date

import sqlglot

from zhizao.copilot.sql.frame import Filter, Frame, Group, Measure
from zhizao.copilot.sql.schema import Column, Join, Schema, quote

BUCKET_FORMAT = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d", "hour": "%Y-%m-%d %H:00", "week": "%Y-W%W"}


class BuildError(ValueError):
    """The frame needs a table that cannot be joined."""


def literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


class Builder:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema

    def build(self, frame: Frame) -> str:
        if frame.measures and frame.measures[0].func == "per":
            return self.transpile(self._build_per(frame))
        needed = [g.column.table for g in frame.groups] + [f.column.table for f in frame.filters]
        needed += [c.table for c in frame.listing]
        if frame.date_column is not None:
            needed.append(frame.date_column.table)
        aliases, joins = self._joins(frame.table, needed)
        single = len(aliases) == 1

        def col(column: Column) -> str:
            return quote(column.name) if single else f"{aliases[column.table]}.{quote(column.name)}"

        select: list[str] = []
        group_by: list[str] = []
        order_group: list[str] = []
        for group in frame.groups:
            expr = self._bucket(col(group.column), group)
            alias = group.bucket if group.bucket else None
            select.append(f"{expr} AS {alias}" if alias else expr)
            group_by.append(expr)
            order_group.append(alias or expr)
        measure_aliases: list[str] = []
        for measure in frame.measures:
            expr = self._measure(measure, col, frame)
            alias = self._alias(measure, measure_aliases)
            measure_aliases.append(alias)
            select.append(f"{expr} AS {alias}")
        if frame.listing:
            select = [col(c) for c in frame.listing]
        where = [self._filter(f, col) for f in frame.filters if not f.having]
        if frame.date_column is not None:
            dc = col(frame.date_column)
            if frame.date_start is not None:
                where.append(f"{dc} >= {literal(frame.date_start)}")
            if frame.date_end is not None:
                where.append(f"{dc} < {literal(frame.date_end)}")
        having = []
        for f in frame.filters:
            if f.having and measure_aliases:
                expr = self._measure(frame.measures[0], col, frame)
                having.append(f"{expr} {f.op} {literal(f.values[0])}")
        sql = "SELECT " + ("DISTINCT " if frame.listing and frame.groups == [] and not single else "")
        sql += ", ".join(select)
        sql += f" FROM {quote(frame.table)}" + ("" if single else f" AS {aliases[frame.table]}")
        for join, new in joins:
            sql += (f" JOIN {quote(new)} AS {aliases[new]} ON {aliases[join.left]}.{quote(join.left_column)} = "
                    f"{aliases[join.right]}.{quote(join.right_column)}")
        if where:
            sql += " WHERE " + " AND ".join(where)
        if group_by and frame.measures:
            sql += " GROUP BY " + ", ".join(group_by)
        if having:
            sql += " HAVING " + " AND ".join(having)
        order = self._order(frame, measure_aliases, order_group, col)
        if order:
            sql += " ORDER BY " + order
        if frame.limit:
            sql += f" LIMIT {int(frame.limit)}"
        return self.transpile(sql)

    def _build_per(self, frame: Frame) -> str:
        """X per Y with X and Y in different tables: aggregate each table by the group keys, then divide."""
        measure = frame.measures[0]
        sides = []
        for column, date_column in ((measure.column, frame.date_column), (measure.denominator,
                                                                         measure.denominator_date)):
            table = self.schema.tables[column.table]
            keys = []
            for group in frame.groups:
                local = table.column(group.column.name)
                if local is None:
                    raise BuildError(table.name)
                keys.append(self._bucket(quote(local.name), Group(local, group.bucket)))
            where = []
            for f in frame.filters:
                local = table.column(f.column.name)
                if local is None:
                    raise BuildError(f.column.table)
                where.append(self._filter(Filter(local, f.op, f.values), lambda c: quote(c.name)))
            if date_column is not None:
                if frame.date_start is not None:
                    where.append(f"{quote(date_column.name)} >= {literal(frame.date_start)}")
                if frame.date_end is not None:
                    where.append(f"{quote(date_column.name)} < {literal(frame.date_end)}")
            select = [f"{k} AS g{i}" for i, k in enumerate(keys)] + [f"SUM({quote(column.name)}) AS v"]
            sql = f"SELECT {', '.join(select)} FROM {quote(table.name)}"
            if where:
                sql += " WHERE " + " AND ".join(where)
            if keys:
                sql += " GROUP BY " + ", ".join(keys)
            sides.append(sql)
        alias = self._alias(measure, [])
        if not frame.groups:
            return f"SELECT CAST(({sides[0]}) AS DOUBLE) / NULLIF(({sides[1]}), 0) AS {alias}"
        names = [g.bucket or g.column.name for g in frame.groups]
        select = [f"a.g{i} AS {quote(name)}" for i, name in enumerate(names)]
        on = " AND ".join(f"a.g{i} = b.g{i}" for i in range(len(names)))
        sql = (f"SELECT {', '.join(select)}, CAST(a.v AS DOUBLE) / NULLIF(b.v, 0) AS {alias} "
               f"FROM ({sides[0]}) AS a JOIN ({sides[1]}) AS b ON {on}")
        direction = " DESC" if frame.descending else ""
        if frame.order == "measure":
            sql += f" ORDER BY {alias}{direction}, " + ", ".join(quote(n) for n in names)
        else:
            sql += " ORDER BY " + ", ".join(quote(n) for n in names)
        if frame.limit:
            sql += f" LIMIT {int(frame.limit)}"
        return sql

    def transpile(self, sql: str) -> str:
        if self.schema.dialect == "duckdb":
            return sql
        return sqlglot.transpile(sql, read="duckdb", write=self.schema.dialect)[0]

    # -- parts ---------------------------------------------------------------------------------------------
    def _joins(self, main: str, needed: list[str]) -> tuple[dict[str, str], list[tuple[Join, str]]]:
        """Table aliases and the joins (with the table each one brings in) reaching ``needed`` from ``main``."""
        aliases = {main: "t0"}
        ordered: list[tuple[Join, str]] = []
        for table in needed:
            if table in aliases:
                continue
            path = self.schema.join_path(main, table)
            if path is None:
                raise BuildError(table)
            current = main
            for join in path:
                nxt = join.right if join.left == current else join.left
                if nxt not in aliases:
                    aliases[nxt] = f"t{len(aliases)}"
                    ordered.append((join, nxt))
                current = nxt
        return aliases, ordered

    def _bucket(self, expr: str, group: Group) -> str:
        if not group.bucket:
            return expr
        if group.bucket == "quarter":
            month = f"CAST(STRFTIME({expr}, '%m') AS INTEGER)"
            return f"STRFTIME({expr}, '%Y') || '-Q' || CAST((({month} + 2) / 3) AS VARCHAR)"
        if group.bucket == "day" and group.column.kind == "date":
            return expr
        if group.bucket == "day" and self.schema.dialect != "sqlite":
            return f"CAST({expr} AS DATE)"
        return f"STRFTIME({expr}, '{BUCKET_FORMAT[group.bucket]}')"

    def _measure(self, measure: Measure, col, frame: Frame) -> str:
        def num(expr: str) -> str:
            return f"CAST({expr} AS DOUBLE)"

        f = measure.func
        if f == "count":
            return "COUNT(*)"
        if f == "count_distinct":
            return f"COUNT(DISTINCT {col(measure.column)})"
        if f == "metric":
            return self._metric_sql(measure.sql or "", col, frame)
        if f == "ratio":
            return f"{num(f'SUM({col(measure.column)})')} / NULLIF(SUM({col(measure.denominator)}), 0)"
        if f == "share":
            inner = f"SUM({col(measure.column)})" if measure.column is not None else "COUNT(*)"
            return f"{num(inner)} / SUM({inner}) OVER ()"
        if f == "avg":
            arg = col(measure.column)
            return f"AVG({num(arg) if self.schema.dialect == 'mysql' else arg})"
        return f"{f.upper()}({col(measure.column)})"

    def _metric_sql(self, sql: str, col, frame: Frame) -> str:
        table = self.schema.tables[frame.table]

        def repl(match: re.Match) -> str:
            name = match.group(0)
            column = table.column(name)
            return col(column) if column is not None else name

        return re.sub(r"(?<![\w.'])[A-Za-z_][A-Za-z0-9_]*(?![\w'(])", repl, sql)

    @staticmethod
    def _alias(measure: Measure, taken: list[str]) -> str:
        base = measure.label or measure.func
        base = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_") or "value"
        alias, n = base, 2
        while alias in taken:
            alias, n = f"{base}_{n}", n + 1
        return alias

    @staticmethod
    def _filter(f: Filter, col) -> str:
        c = col(f.column)
        if f.op == "in":
            if len(f.values) == 1:
                return f"{c} = {literal(f.values[0])}"
            return f"{c} IN ({', '.join(literal(v) for v in f.values)})"
        if f.op == "not in":
            return f"{c} NOT IN ({', '.join(literal(v) for v in f.values)})"
        return f"{c} {f.op} {literal(f.values[0])}"

    def _order(self, frame: Frame, measure_aliases: list[str], order_group: list[str], col) -> str:
        direction = " DESC" if frame.descending else ""
        if frame.order == "measure" and measure_aliases:
            keys = [measure_aliases[0] + direction] + [g for g in order_group]
            return ", ".join(keys)
        if frame.listing:
            if frame.order == "measure" and frame.measures:
                return ""
            return ", ".join(col(c) for c in frame.listing[:1])
        if order_group:
            return ", ".join(g + (direction if frame.order == "group" else "") for g in order_group)
        return ""
