"""Questions per feature, answered offline and compared with hand-written gold SQL (execution accuracy)."""

from __future__ import annotations

import pytest
from tests.copilot.sql.conftest import gold, same_rows

CASES = [
    # aggregations over a value filter and a date range
    ("chem", "Total output of grade PVA-17 in June 2024",
     "SELECT SUM(output_kg) FROM batches WHERE product_grade='PVA-17' AND start_time >= '2024-06-01' "
     "AND start_time < '2024-07-01'"),
    ("chem", "What is the maximum cycle time?", "SELECT MAX(cycle_hours) FROM batches"),
    ("chem", "反应釜的平均容量是多少", "SELECT AVG(capacity_l) FROM reactors"),
    # group by (same table, joined table, Chinese comments only)
    ("chem", "Average cycle time by product grade", "SELECT product_grade, AVG(cycle_hours) FROM batches GROUP BY 1"),
    ("chem", "上个月各区域的总产量",
     "SELECT r.area, SUM(b.output_kg) FROM batches b JOIN reactors r ON b.reactor_id = r.reactor_id "
     "WHERE b.start_time >= '2024-06-01' AND b.start_time < '2024-07-01' GROUP BY 1"),
    ("food", "2024年3月每条产线的实际产量",
     "SELECT xian_id, SUM(shiji_xiangshu) FROM shengchan_jilu WHERE riqi >= '2024-03-01' AND riqi < '2024-04-01' "
     "GROUP BY 1"),
    ("food", "每个车间的实际产量",
     "SELECT c.chejian, SUM(j.shiji_xiangshu) FROM shengchan_jilu j JOIN chanxian c ON j.xian_id = c.xian_id "
     "GROUP BY 1"),
    # counting rows, distinct values, "X数"
    ("chem", "How many batches were aborted?", "SELECT COUNT(*) FROM batches WHERE status = 'aborted'"),
    ("food", "设备故障导致的停机有多少次", "SELECT COUNT(*) FROM tingji_jilu WHERE yuanyin = '设备故障'"),
    ("smt", "2024年一季度生产了多少种产品",
     "SELECT COUNT(DISTINCT prod_cd) FROM wo WHERE st_dt >= '2024-01-01' AND st_dt < '2024-04-01'"),
    ("smt", "每个状态的工单数", "SELECT wo_sts, COUNT(*) FROM wo GROUP BY 1"),
    # top-k, superlatives, ordering
    ("chem", "Top 3 operators by total output",
     "SELECT operator, SUM(output_kg) s FROM batches GROUP BY 1 ORDER BY s DESC LIMIT 3"),
    ("chem", "Which reactor had the most batches in 2024?",
     "SELECT reactor_id, COUNT(*) c FROM batches WHERE start_time >= '2024-01-01' AND start_time < '2025-01-01' "
     "GROUP BY 1 ORDER BY c DESC LIMIT 1"),
    ("food", "哪个产品的废品数最少",
     "SELECT chanpin_bm, SUM(feipin_shu) s FROM shengchan_jilu GROUP BY 1 ORDER BY s ASC LIMIT 1"),
    ("food", "停机原因按总时长排序",
     "SELECT yuanyin, SUM(shichang_fenzhong) s FROM tingji_jilu GROUP BY 1 ORDER BY s DESC"),
    ("smt", "最常见的缺陷类型是哪个", "SELECT def_typ, COUNT(*) c FROM aoi_insp GROUP BY 1 ORDER BY c DESC LIMIT 1"),
    # ratios: natural base, plan attainment, yield, share, cross-table "per"
    ("smt", "各产线的不良率", "SELECT ln_cd, SUM(ng_qty) * 1.0 / SUM(insp_qty) FROM aoi_insp GROUP BY 1"),
    ("smt", "Plan achievement rate by line", "SELECT ln_cd, SUM(act_qty) * 1.0 / SUM(plan_qty) FROM wo GROUP BY 1"),
    ("chem", "收率最低的反应釜是哪个",
     "SELECT reactor_id, SUM(output_kg) / SUM(input_kg) r FROM batches GROUP BY 1 ORDER BY r ASC LIMIT 1"),
    ("chem", "What share of total output came from each area?",
     "SELECT r.area, SUM(b.output_kg) / SUM(SUM(b.output_kg)) OVER () FROM batches b "
     "JOIN reactors r ON b.reactor_id = r.reactor_id GROUP BY 1"),
    # time series
    ("chem", "Monthly total output in 2024",
     "SELECT strftime(start_time, '%Y-%m') m, SUM(output_kg) FROM batches WHERE start_time >= '2024-01-01' "
     "AND start_time < '2025-01-01' GROUP BY 1"),
    ("food", "2024年6月每天的停机总时长",
     "SELECT CAST(kaishi_shijian AS DATE) d, SUM(shichang_fenzhong) FROM tingji_jilu "
     "WHERE kaishi_shijian >= '2024-06-01' AND kaishi_shijian < '2024-07-01' GROUP BY 1"),
    # listings and comparisons
    ("chem", "Reactors commissioned before 2019",
     "SELECT reactor_id, reactor_name FROM reactors WHERE commissioned_on < '2019-01-01'"),
    ("food", "二车间有哪些产线", "SELECT xian_id, xian_mingcheng FROM chanxian WHERE chejian = '二车间'"),
    ("smt", "持续时间超过1000秒的报警有多少条", "SELECT COUNT(*) FROM mc_alm WHERE dur_sec > 1000"),
    # join through a key to filter by a value of another table
    ("smt", "Total inspected quantity for PCBA-300",
     "SELECT SUM(a.insp_qty) FROM aoi_insp a JOIN wo w ON a.wo_no = w.wo_no WHERE w.prod_cd = 'PCBA-300'"),
]


@pytest.mark.parametrize("plant, question, sql", CASES, ids=[c[1] for c in CASES])
def test_question_gives_the_gold_rows(insights, plant_files, plant, question, sql):
    answer = insights[plant].ask(question)
    assert answer.error is None, answer.error
    expected = gold(plant_files[plant], sql)
    ordered = "ORDER BY" in sql and "LIMIT" not in sql
    assert same_rows(answer.rows, expected, ordered), (answer.sql, answer.rows[:5], expected[:5])


def test_answer_carries_sql_chart_and_summary_in_the_question_language(insights):
    zh = insights["food"].ask("每月的废品数趋势")
    assert zh.sql.startswith("SELECT") and zh.chart["type"] == "line" and zh.chart["x"] == "month"
    assert "共" in zh.summary
    en = insights["chem"].ask("Average cycle time by product grade")
    assert en.chart["type"] == "bar" and en.summary.startswith("4 rows")
    one = insights["chem"].ask("What is the maximum cycle time?")
    assert one.chart["type"] == "number" and one.summary.startswith("Result")
    share = insights["chem"].ask("What share of total output came from each area?")
    assert share.chart["type"] == "pie"


@pytest.mark.parametrize("question, word", [("员工的平均工资", "工资"), ("What is the salary of operators?", "salary"),
                                            ("xyzzy plugh", "xyzzy")])
def test_says_what_it_did_not_understand(insights, question, word):
    answer = insights["chem"].ask(question)
    assert answer.error and word in answer.error and answer.sql is None
    assert answer.error.startswith("不理解" if "工资" in question else "not understood")
