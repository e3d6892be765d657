"""The read-only guard: one SELECT, nothing that writes, sleeps, reads files or changes settings."""

from __future__ import annotations

import pytest

from zhizao.copilot.sql.safety import UnsafeSQL, check_select


@pytest.mark.parametrize("sql, reason", [
    ("DROP TABLE machines", "only SELECT"),
    ("DELETE FROM machines", "only SELECT"),
    ("UPDATE machines SET line = 'x'", "only SELECT"),
    ("INSERT INTO machines VALUES (1)", "only SELECT"),
    ("CREATE TABLE x AS SELECT 1", "only SELECT"),
    ("ALTER TABLE machines ADD COLUMN y INT", "only SELECT"),
    ("TRUNCATE machines", "only SELECT"),
    ("SELECT 1; DROP TABLE machines", "exactly one statement"),
    ("SELECT 1; SELECT 2", "exactly one statement"),
    ("SELECT pg_sleep(10)", "pg_sleep"),
    ("SELECT * FROM machines WHERE sleep(5) = 0", "sleep"),
    ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
    ("SELECT * FROM read_csv('/etc/passwd')", "not allowed"),
    ("SELECT load_file('/etc/passwd')", "load_file"),
    ("SELECT set_config('statement_timeout', '0', false)", "set_config"),
    ("SELECT * FROM machines FOR UPDATE", "locking"),
    ("WITH x AS (DELETE FROM machines RETURNING *) SELECT * FROM x", "DELETE"),
    ("", "empty"),
    ("SELEC * FROM", "does not parse"),
])
def test_rejects_everything_but_one_read_only_select(sql, reason):
    with pytest.raises(UnsafeSQL, match=reason):
        check_select(sql, "postgres", 100)


def test_adds_and_caps_the_row_limit():
    assert check_select("SELECT * FROM machines", "duckdb", 50).endswith("LIMIT 50")
    assert check_select("SELECT * FROM machines LIMIT 100000", "duckdb", 50).endswith("LIMIT 50")
    assert check_select("SELECT * FROM machines LIMIT 5", "duckdb", 50).endswith("LIMIT 5")


def test_accepts_joins_ctes_unions_and_windows():
    for sql in ("WITH t AS (SELECT a FROM x) SELECT a FROM t",
                "SELECT a FROM x UNION SELECT a FROM y",
                "SELECT a, SUM(b) / SUM(SUM(b)) OVER () FROM x GROUP BY a",
                "SELECT x.a FROM x JOIN y ON x.id = y.id WHERE y.c IN ('p', 'q')"):
        assert check_select(sql, "duckdb", 10)


def test_typed_sql_goes_through_the_guard(insights):
    insight = insights["chem"]
    refused = insight.ask("DROP TABLE reactors")
    assert refused.error and "only SELECT" in refused.error and refused.rows == []
    assert insight.ask("SELECT COUNT(*) FROM reactors").rows == [[5]]
    # the database connection itself is read-only too
    from zhizao.copilot.sql.db import QueryError

    with pytest.raises(QueryError):
        insight.db.query("CREATE TABLE hack (x INT)")


def test_statement_timeout_interrupts_long_queries(plant_files):
    from zhizao.copilot.sql.db import Database, QueryError

    db = Database(f"duckdb:///{plant_files['chem']}", timeout_s=0.3)
    try:
        with pytest.raises(QueryError, match="timeout"):
            db.query("SELECT COUNT(*) FROM range(100000000000) a")
    finally:
        db.close()


def test_llm_sql_is_checked_and_the_parser_is_the_fallback(plant_files):
    """An LLM hook proposes SQL; unsafe or broken proposals are dropped and the offline parser answers."""
    from zhizao.copilot.sql import Conversation, DataInsight

    proposals = iter(["```sql\nSELECT COUNT(*) AS n FROM reactors\n```", "DELETE FROM reactors",
                      "I cannot help with that"])
    seen: list[list[dict]] = []

    def llm(messages):
        seen.append(messages)
        return next(proposals)

    insight = DataInsight.from_url(f"duckdb:///{plant_files['chem']}", llm=llm)
    try:
        conversation = Conversation()
        first = insight.ask("how many reactors are there", conversation)
        assert first.source == "llm" and first.rows == [[5]]
        assert "TABLE reactors" in seen[0][0]["content"] and "values: aborted, completed" in seen[0][0]["content"]
        second = insight.ask("How many batches were aborted?", conversation)  # DELETE refused → parser
        assert second.source == "parser" and "aborted" in second.sql
        assert seen[1][1]["content"] == "how many reactors are there"  # earlier turns go to the model
        third = insight.ask("List the reactors in the South area", conversation)  # prose → parser
        assert third.source == "parser" and len(third.rows) == 2
    finally:
        insight.close()
