"""MRP on a textbook three-level example worked by hand, and the input checks."""

import pytest

from zhizao.apps.planning.mrp import Item, MrpInputError, low_level_codes, run_mrp

# A needs 2 B and 1 C; B needs 1 C, so C sits on levels 1 and 2 (low-level code 2).
BOM = {"a": [("b", 2), ("c", 1)], "b": [("c", 1)]}


def items() -> dict[str, Item]:
    return {
        "a": Item("a", lead_time=1, on_hand=10, make=True),
        "b": Item("b", lead_time=2, on_hand=20, make=True, scheduled_receipts={1: 10}),
        "c": Item("c", lead_time=1, on_hand=5, lot_rule="fixed", lot_size=50),
    }


def test_three_level_explosion_netting_and_offsetting():
    result = run_mrp(items(), BOM, {"a": [0, 0, 20, 0, 30, 10]}, periods=6)
    assert [p.item for p in result.plans] == ["a", "b", "c"]
    assert [p.low_level_code for p in result.plans] == [0, 1, 2]

    a = result.plan("a")
    assert a.net == [0, 0, 10, 0, 30, 10]
    assert a.planned_receipts == [0, 0, 10, 0, 30, 10]
    assert a.planned_releases == [0, 10, 0, 30, 10, 0]
    assert a.projected_on_hand == [10, 10, 0, 0, 0, 0]

    b = result.plan("b")  # gross = 2 x A's releases; the open order of 10 arrives in period 1
    assert b.gross == [0, 20, 0, 60, 20, 0]
    assert b.scheduled_receipts == [10, 0, 0, 0, 0, 0]
    assert b.projected_on_hand == [30, 10, 10, 0, 0, 0]
    assert b.planned_receipts == [0, 0, 0, 50, 20, 0]
    assert b.planned_releases == [0, 50, 20, 0, 0, 0]

    c = result.plan("c")  # gross from A's and B's releases; fixed lots of 50
    assert c.gross == [0, 60, 20, 30, 10, 0]
    assert c.planned_receipts == [0, 100, 0, 50, 0, 0]
    assert c.planned_releases == [100, 0, 50, 0, 0, 0]
    assert c.projected_on_hand == [5, 45, 25, 45, 35, 35]
    assert c.past_due == 0


def test_safety_stock_is_kept_and_late_releases_are_flagged():
    master = items()
    master["a"].safety_stock = 5
    master["c"].lead_time = 2
    result = run_mrp(master, BOM, {"a": [0, 0, 20, 0, 30, 10]}, periods=6)
    assert min(result.plan("a").projected_on_hand) >= 5
    c = result.plan("c")
    # C's receipt in period 2 needed a release in period 0: it is released in period 1, flagged past due.
    assert c.past_due > 0 and c.planned_releases[0] >= c.past_due


def test_eoq_lots_round_up_to_multiples():
    master = items()
    master["a"].lot_rule, master["a"].lot_size = "eoq", 25
    a = run_mrp(master, BOM, {"a": [0, 0, 20, 0, 30, 10]}, periods=6).plan("a")
    assert a.planned_receipts[2] == 25 and all(q % 25 == 0 for q in a.planned_receipts)


def test_low_level_codes_and_cycles():
    assert low_level_codes({"a", "b", "c"}, BOM) == {"a": 0, "b": 1, "c": 2}
    with pytest.raises(MrpInputError, match="cycle"):
        low_level_codes({"a", "b"}, {"a": [("b", 1)], "b": [("a", 1)]})


@pytest.mark.parametrize("bom, demand, message", [
    ({"a": [("x", 1)]}, {}, "'x'"),
    ({"a": [("b", 0)]}, {}, "qty must be > 0"),
    (BOM, {"z": [1]}, "unknown item 'z'"),
    (BOM, {"a": [-1]}, r"demand\[a\]"),
])
def test_bad_input_names_the_field(bom, demand, message):
    with pytest.raises(MrpInputError, match=message):
        run_mrp(items(), bom, demand, periods=3)
