"""C-MAPSS reading, preprocessing and the cross-validation truncation logic (fast, no training)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from tests.apps.maintenance.rul_helpers import CONSTANT, synthetic_cmapss

from zhizao.apps.maintenance.rul.cmapss import SENSORS, SETTINGS, CmapssError, parse_lines, read_cmapss
from zhizao.apps.maintenance.rul.features import Preprocessor, Regimes, last_windows, rul_targets, training_windows
from zhizao.apps.maintenance.rul.validation import draw_cuts, engine_folds, nasa_score, rmse, truncated_frame

GOOD = "1 {c} 0.001 0.0002 100 " + " ".join(["518.67"] * 21)


def test_reader_reports_bad_rows_with_line_numbers_and_keeps_the_rest():
    ones = " ".join(["1"] * 21)
    lines = [GOOD.format(c=1), "", "# comment", GOOD.format(c=2) + " 7", "1 3 0.1 x 100 " + ones,
             "1 2.5 1 1 1 " + ones, GOOD.format(c=4), GOOD.format(c=4), "2 1 nan NA ? " + ones]
    data = parse_lines(lines, "t.txt")
    assert [(i.line, i.message.split(" ")[0]) for i in data.issues] == [
        (4, "expected"), (5, "setting2"), (6, "cycle"), (8, "unit")]
    assert "27" in str(data.issues[0]) and "line 8: unit 1 cycle 4 repeats line 7" == str(data.issues[3])
    assert data.units == [1, 2]
    assert data.frame["cycle"].tolist() == [1, 4, 1]
    assert data.frame.loc[2, list(SETTINGS)].isna().all()  # missing tokens become NaN, not errors
    report = data.report()
    assert report[-1] == "t.txt: skipped 4 row(s); using 3 row(s) of 2 unit(s)"


def test_reader_fails_clearly_when_nothing_is_usable(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a b c\n1 2 3\n")
    with pytest.raises(CmapssError, match=r"bad.txt: no usable C-MAPSS rows; first problem: line 1: expected 26"):
        read_cmapss(path)
    with pytest.raises(CmapssError, match="no such file"):
        read_cmapss(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(CmapssError, match="empty"):
        read_cmapss(tmp_path / "empty.txt")


def test_reader_sorts_rows_by_unit_and_cycle():
    data = parse_lines([GOOD.replace("1 {c}", "2 {c}").format(c=2), GOOD.format(c=2), GOOD.format(c=1)])
    assert list(zip(data.frame["unit"], data.frame["cycle"], strict=True)) == [(1, 1), (1, 2), (2, 2)]


def _frame(**kwargs) -> pd.DataFrame:
    lines, _ = synthetic_cmapss(**kwargs)
    return parse_lines(lines).frame


def test_preprocessor_drops_constant_missing_and_uninformative_sensors():
    frame = _frame(units=8)
    frame["s20"] = np.nan  # a sensor the plant never recorded
    frame.loc[::3, "s3"] = np.nan  # a sensor with gaps stays usable
    pre = Preprocessor.fit(frame, cap=125)
    constant = {SENSORS[j] for j in CONSTANT}
    assert constant <= {s for s, why in pre.dropped.items() if why == "constant"}
    assert pre.dropped["s20"] == "missing"
    assert {"s2", "s3", "s4", "s7", "s11", "s13", "s15"} == set(pre.sensors)  # exactly the drifting ones
    noise_only = ("s6", "s8", "s9", "s12", "s14", "s17", "s21")
    assert all(pre.dropped[s].startswith("uninformative") for s in noise_only)
    sequences = pre.transform(frame)
    assert not any(np.isnan(seq).any() for seq in sequences.values())
    restored = Preprocessor.from_json(pre.to_json())
    assert restored.sensors == pre.sensors and restored.regimes.count == pre.regimes.count


def test_regimes_are_found_by_clustering_the_settings():
    six = _frame(units=6, regimes=6, seed=3)
    assert Regimes.fit(six[list(SETTINGS)].to_numpy()).count == 6
    one = _frame(units=6, regimes=1)
    assert Regimes.fit(one[list(SETTINGS)].to_numpy()).count == 1
    # per-regime scaling removes the regime offsets, so a drifting sensor is still found informative
    pre = Preprocessor.fit(six, cap=125)
    assert {"s2", "s3", "s4"} <= set(pre.sensors)
    seq = np.concatenate(list(pre.transform(six).values()))
    assert abs(seq.mean()) < 0.2 and 0.5 < seq.std() < 1.5


def test_windows_pad_short_units_and_line_up_with_targets():
    frame = _frame(units=3)
    pre = Preprocessor.fit(frame, cap=40)
    sequences = pre.transform(frame)
    targets = rul_targets(frame, cap=40)
    per_unit = dict(zip(sequences, np.split(targets, np.cumsum([len(s) for s in sequences.values()])[:-1]),
                        strict=True))
    w = training_windows(sequences, per_unit, window=30, baseline=20)
    first = sequences[1]
    assert w.x.shape[1:] == (30, len(pre.sensors)) and len(w.x) == len(w.y) == len(w.base) == len(w.units)
    assert np.allclose(w.x[0][:15], first[0]) and np.allclose(w.x[0][15:], first[:15])  # padded with the first row
    assert w.seen[0] == 15 and w.y[0] == min(40, len(first) - 15)
    assert np.allclose(w.base[0], first[:15].mean(axis=0), atol=1e-5)  # only the cycles seen so far
    assert np.allclose(w.base[w.units == 1][-1], first[:20].mean(axis=0), atol=1e-5)
    assert w.y[w.units == 1][-1] == 0
    last = last_windows({7: first[:5]}, window=30, baseline=20)
    assert last.units.tolist() == [7] and last.x.shape == (1, 30, len(pre.sensors)) and last.seen.tolist() == [5]
    assert np.allclose(last.x[0, -5:], first[:5]) and np.allclose(last.base[0], first[:5].mean(axis=0), atol=1e-5)
    assert np.allclose(last.drift(5)[0], 0, atol=1e-5)


def test_nasa_score_and_rmse():
    assert nasa_score(np.array([10.0]), np.array([10.0])) == 0
    assert math.isclose(nasa_score(np.array([20.0]), np.array([10.0])), math.e - 1)  # late: /10
    assert math.isclose(nasa_score(np.array([0.0]), np.array([13.0])), math.e - 1)  # early: /13
    assert math.isclose(rmse(np.array([1.0, 3.0]), np.array([0.0, 0.0])), math.sqrt(5))


def test_cuts_are_test_like_prefixes():
    rng = np.random.default_rng(0)
    lengths = {1: 200, 2: 60, 3: 35, 4: 400}
    cuts = draw_cuts(lengths, rounds=50, rng=rng, min_prefix=31, max_rul=150)
    assert len(cuts) == 200 and {c.round for c in cuts} == set(range(50))
    for cut in cuts:
        assert cut.observed + cut.rul == lengths[cut.unit]
        assert 1 <= cut.rul <= 150
        assert cut.observed >= min(31, lengths[cut.unit] - 1)
    by_unit = {u: {c.observed for c in cuts if c.unit == u} for u in lengths}
    assert len(by_unit[1]) > 20  # random points, not one fixed cut
    assert min(by_unit[4]) >= 250  # long engine: never more than max_rul cycles left
    frame = _frame(units=4)
    some = [c for c in draw_cuts({u: int(n) for u, n in frame.groupby("unit").size().items()}, 2, rng)]
    test_like, index = truncated_frame(frame, some)
    for pseudo, cut in index.items():
        part = test_like[test_like["unit"] == pseudo]
        original = frame[frame["unit"] == cut.unit]
        assert len(part) == cut.observed
        assert np.allclose(part["s2"].to_numpy(), original["s2"].to_numpy()[:cut.observed])


def test_engine_folds_partition_the_engines():
    folds = engine_folds(list(range(1, 101)), 5, np.random.default_rng(1))
    assert sorted(np.concatenate(folds).tolist()) == list(range(1, 101))
    assert [len(f) for f in folds] == [20] * 5
