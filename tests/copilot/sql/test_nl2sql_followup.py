"""Multi-turn: a follow-up starts from the previous question's frame and replaces what it names."""

from __future__ import annotations

from tests.copilot.sql.conftest import gold, same_rows

from zhizao.copilot.sql import Conversation


def test_follow_ups_reuse_the_previous_question(insights, plant_files):
    insight, path = insights["food"], plant_files["food"]
    conversation = Conversation()
    first = insight.ask("2024年3月每条产线的实际产量", conversation)
    assert first.error is None and len(first.rows) == 4

    month = insight.ask("那2月呢?", conversation)  # same question, February of the same year
    assert same_rows(month.rows, gold(path, "SELECT xian_id, SUM(shiji_xiangshu) FROM shengchan_jilu WHERE riqi >= "
                                            "'2024-02-01' AND riqi < '2024-03-01' GROUP BY 1"))
    only = insight.ask("只看PL01呢", conversation)  # adds a filter, keeps February
    assert same_rows(only.rows, gold(path, "SELECT xian_id, SUM(shiji_xiangshu) FROM shengchan_jilu WHERE riqi >= "
                                           "'2024-02-01' AND riqi < '2024-03-01' AND xian_id = 'PL01' GROUP BY 1"))
    by_shift = insight.ask("按班次分组呢", conversation)  # regroups, keeps filter and month
    assert same_rows(by_shift.rows, gold(path, "SELECT banci, SUM(shiji_xiangshu) FROM shengchan_jilu WHERE riqi >= "
                                               "'2024-02-01' AND riqi < '2024-03-01' AND xian_id = 'PL01' GROUP BY 1"))
    assert len(conversation.turns) == 4


def test_english_follow_ups(insights, plant_files):
    insight, path = insights["chem"], plant_files["chem"]
    conversation = Conversation()
    insight.ask("What was the total output in March 2024?", conversation)
    south = insight.ask("only the South area", conversation)
    assert same_rows(south.rows, gold(path, "SELECT SUM(b.output_kg) FROM batches b JOIN reactors r ON "
                                            "b.reactor_id = r.reactor_id WHERE r.area = 'South' AND b.start_time "
                                            ">= '2024-03-01' AND b.start_time < '2024-04-01'"))
    april = insight.ask("what about April?", conversation)
    assert same_rows(april.rows, gold(path, "SELECT SUM(b.output_kg) FROM batches b JOIN reactors r ON "
                                            "b.reactor_id = r.reactor_id WHERE r.area = 'South' AND b.start_time "
                                            ">= '2024-04-01' AND b.start_time < '2024-05-01'"))


def test_an_unrelated_question_is_not_taken_as_a_follow_up(insights):
    insight = insights["chem"]
    conversation = Conversation()
    insight.ask("What was the total output in March 2024?", conversation)
    unrelated = insight.ask("how is the weather", conversation)
    assert unrelated.error and "weather" in unrelated.error
    fresh = insight.ask("How many batches were aborted?", conversation)  # a full question stands alone
    assert fresh.error is None and "aborted" in fresh.sql and "2024-03" not in fresh.sql
