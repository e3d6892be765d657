"""File import (CSV, Parquet; wide and long) through the real ingest service into the DuckDB historian."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from zhizao.connect.file.config import ImportOptions
from zhizao.connect.file.importer import FileImportError, check_options, commit, preview
from zhizao.core.config import Settings
from zhizao.runtime import Platform

P = "zhizao/suzhou/machining/line1"
TEMP1, VIB1, STATE1, COUNT1 = (f"{P}/turning/cnc1/{t}" for t in ("temperature", "vibration_rms", "state",
                                                                   "part_count"))
TEMP2 = f"{P}/turning/cnc2/temperature"
AIR = f"{P}/facility/env1/air_temperature"
# Yesterday 00:00 UTC, which is 08:00 in Suzhou (UTC+8): recent, so inside the historian's retention.
T0 = (int(time.time()) // 86_400 - 1) * 86_400_000
DAY = datetime.fromtimestamp(T0 / 1000, ZoneInfo("Asia/Shanghai")).date()
D = DAY.isoformat()  # the local date, e.g. 2026-01-05


@pytest.fixture
async def platform(tmp_path):
    platform = Platform(Settings(data_dir=tmp_path / "data"))
    await platform.start()
    yield platform
    await platform.stop()


def raw(platform: Platform, tag: str) -> list[tuple[int, object]]:
    return [(p.ts, p.v) for p in platform.ctx.historian.read_raw(tag, T0 - 86_400_000, T0 + 86_400_000)]


def letters(platform: Platform, source: str) -> list[dict]:
    return platform.ctx.services["ingest"].dead_letters(source=source)


WIDE = f"""time,cnc1/temperature,CNC lathe 1.vibration_rms,数控车床2 轴承温度,air_temperature,notes
{D} 08:00:00,61.5,2.1,55.0,23.0,start
{D} 08:00:05,61.7,x,55.1,23.1,
not a time,61.8,2.2,55.2,23.1,
{D}T08:00:15+08:00,,2.3,55.3,23.2,
{D} 08:00:20,62.0,2.4,55.4,23.3,x,surplus
{D} 08:00:25,62.1,2.5,55.5,23.4,end
"""


async def test_wide_csv_preview_guesses_layout_types_and_mapping(platform) -> None:
    pv = preview(WIDE.encode(), "wide.csv", platform.ctx.plant)
    assert (pv["format"], pv["layout"], pv["time_column"], pv["time_format"]) == ("csv", "wide", "time", "iso8601")
    assert pv["naive_times"] and pv["timezone"] == "Asia/Shanghai"
    assert pv["rows"] == 6
    types = {c["name"]: c["type"] for c in pv["columns"]}
    assert types["time"] == "time" and types["cnc1/temperature"] == "float" and types["notes"] == "string"
    assert pv["mapping"] == {"cnc1/temperature": TEMP1, "CNC lathe 1.vibration_rms": VIB1,
                             "数控车床2 轴承温度": TEMP2, "air_temperature": AIR, "notes": None}
    assert pv["matches"]["cnc1/temperature"] == "suffix" and pv["matches"]["数控车床2 轴承温度"] == "equipment_tag"
    assert pv["sample"][0][:2] == [f"{D} 08:00:00", "61.5"]
    assert [(m["row"], m["line"], m["cause"]) for m in pv["malformed"]] == [(5, 6, "malformed")]


async def test_wide_csv_commit_keeps_good_cells_and_reports_bad_rows(platform) -> None:
    options = ImportOptions(**preview(WIDE.encode(), "wide.csv", platform.ctx.plant)["options"])
    result = (await commit(WIDE.encode(), "wide.csv", options, platform.ctx, source="file:wide.csv")).as_json()

    # rows 1, 2, 4, 6 have good times: 4 rows x 4 tags = 16 cells, one blank, one not a number
    assert result["accepted"] == 14 and result["empty"] == 1 and result["stored"]
    assert result["rejected"] == {"bad_timestamp": 1, "wrong_type": 1, "malformed": 1}
    bad = {(b["row"], b["column"], b["cause"]) for b in result["bad_rows"]}
    assert bad == {(3, "time", "bad_timestamp"), (2, "CNC lathe 1.vibration_rms", "wrong_type"), (5, "", "malformed")}
    assert result["skipped_columns"] == ["notes"]

    # naive times are Suzhou local time; the one with +08:00 is the same zone
    assert raw(platform, TEMP1) == [(T0, 61.5), (T0 + 5000, 61.7), (T0 + 25_000, 62.1)]
    assert raw(platform, VIB1) == [(T0, 2.1), (T0 + 15_000, 2.3), (T0 + 25_000, 2.5)]
    details = [d["detail"] for d in letters(platform, "file:wide.csv")]
    assert any("row 2 (line 3), column 'CNC lathe 1.vibration_rms': not a number" in d for d in details)
    assert any("row 3 (line 4), column 'time'" in d for d in details)


LONG = f"""timestamp,tag,value,quality
{T0 + 0},zhizao/suzhou/machining/line1/turning/cnc1/temperature,60.1,good
{T0 + 5000},cnc2/temperature,60.2,GOOD
{T0 + 10000},no_such_tag,1,good
{T0 + 15000},cnc1/state,running,
{T0 + 20000},cnc1/part_count,1.5,good
{T0 + 25000},cnc1/temperature,61,weird
{T0 + 30000},cnc1/part_count,7,uncertain
"""


async def test_long_csv_with_epoch_ms_and_quality(platform) -> None:
    pv = preview(LONG.encode(), "long.csv", platform.ctx.plant)
    assert (pv["layout"], pv["time_format"], pv["tag_column"], pv["value_column"], pv["quality_column"]) == (
        "long", "epoch_ms", "tag", "value", "quality")
    assert pv["mapping"]["no_such_tag"] is None and pv["mapping"]["cnc1/state"] == STATE1
    result = (await commit(LONG.encode(), "long.csv", ImportOptions(**pv["options"]), platform.ctx,
                           source="file:long.csv")).as_json()
    assert result["accepted"] == 4
    assert result["rejected"] == {"unknown_tag": 1, "wrong_type": 1, "bad_quality": 1}
    assert {(b["row"], b["column"], b["cause"]) for b in result["bad_rows"]} == {
        (3, "tag", "unknown_tag"), (5, "value", "wrong_type"), (6, "quality", "bad_quality")}
    assert raw(platform, TEMP1) == [(T0, 60.1)]
    assert raw(platform, STATE1) == [(T0 + 15_000, "running")]
    assert raw(platform, COUNT1) == [(T0 + 30_000, 7)]
    assert platform.ctx.historian.read_raw(COUNT1, T0, T0 + 60_000)[0].q == "uncertain"
    counts = {(c["source"], c["cause"]): c["count"] for c in platform.ctx.services["ingest"].dead_letter_counts()}
    assert counts[("file:long.csv", "unknown_tag")] == 1 and counts[("file:long.csv", "bad_quality")] == 1


async def test_parquet_wide_and_long_with_typed_columns(platform, tmp_path) -> None:
    naive = pd.date_range(f"{D} 08:00:00", periods=4, freq="5s")  # Suzhou local time
    wide = pd.DataFrame({"Time": naive, "cnc1.temperature": [60.0, None, 62.0, 63.0],
                         "cnc1.part_count": [1, 2, 3, 4], "env1/air_temperature": [21.0, 21.5, 22.0, 22.5]})
    path = tmp_path / "wide.parquet"
    wide.to_parquet(path)
    pv = preview(path, path.name, platform.ctx.plant)
    assert (pv["format"], pv["layout"], pv["time_column"], pv["naive_times"]) == ("parquet", "wide", "Time", True)
    assert {c["name"]: c["type"] for c in pv["columns"]}["cnc1.part_count"] == "int"
    result = await commit(path, path.name, ImportOptions(**pv["options"]), platform.ctx, source="file:wide.parquet")
    assert (result.accepted, result.empty, sum(result.rejected.values())) == (11, 1, 0)
    assert raw(platform, COUNT1) == [(T0 + i * 5000, i + 1) for i in range(4)]

    aware = pd.date_range(f"{D} 00:01:00", periods=3, freq="1s", tz="UTC")
    long = pd.DataFrame({"ts": aware, "name": ["cnc2/temperature", "cnc2/temperature", "nowhere"],
                         "v": [50.0, float("nan"), 3.0]})
    path = tmp_path / "long.parquet"
    long.to_parquet(path)
    pv = preview(path, path.name, platform.ctx.plant)
    assert (pv["layout"], pv["naive_times"], pv["tag_column"], pv["value_column"]) == ("long", False, "name", "v")
    result = await commit(path, path.name, ImportOptions(**pv["options"]), platform.ctx, source="file:long.parquet")
    assert (result.accepted, result.empty, dict(result.rejected)) == (1, 1, {"unknown_tag": 1})
    assert raw(platform, TEMP2) == [(T0 + 60_000, 50.0)]


async def test_gbk_semicolons_strptime_format_and_timezone_option(platform) -> None:
    dmy = DAY.strftime("%d.%m.%Y")
    text = f"时间;位号;值\n{dmy} 00:00:00;数控车床1/轴承温度;70,5\n{dmy} 00:00:10;cnc1/temperature;71\n"
    data = text.encode("gb18030")
    pv = preview(data, "gbk.csv", platform.ctx.plant)
    assert (pv["encoding"], pv["delimiter"], pv["time_column"], pv["time_format"]) == (
        "gb18030", ";", "时间", "%d.%m.%Y %H:%M:%S")
    assert (pv["layout"], pv["tag_column"], pv["value_column"]) == ("long", "位号", "值")
    options = ImportOptions(**{**pv["options"], "timezone": "UTC"})
    result = await commit(data, "gbk.csv", options, platform.ctx, source="file:gbk.csv")
    # a decimal comma is not a number here: reported, not guessed
    assert result.accepted == 1 and [(b.row, b.column, b.value) for b in result.bad_rows] == [(1, "值", "70,5")]
    assert raw(platform, TEMP1) == [(T0 + 10_000, 71.0)]


async def test_large_file_in_chunks_reports_progress(platform) -> None:
    n = 2500
    rows = [f"{T0 // 1000 + i},{i % 100}.5,{i}" for i in range(n)]
    rows[1234] = f"{T0 // 1000 + 1234},oops,1234"
    data = ("epoch,temperature@cnc1,cnc1.part_count\n" + "\n".join(rows)).encode()
    pv = preview(data, "big.csv", platform.ctx.plant)
    assert pv["time_format"] == "epoch_s" and pv["mapping"]["cnc1.part_count"] == COUNT1
    options = ImportOptions(**{**pv["options"], "mapping": {"temperature@cnc1": TEMP1, "cnc1.part_count": COUNT1}})
    seen: list[tuple[int, int]] = []
    result = await commit(data, "big.csv", options, platform.ctx, source="file:big.csv", chunk_rows=1000,
                          progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1000, n), (2000, n), (n, n)]
    assert result.rows == n and result.accepted == 2 * n - 1
    assert [(b.row, b.line, b.column) for b in result.bad_rows] == [(1235, 1236, "temperature@cnc1")]
    assert len(raw(platform, COUNT1)) == n


async def test_options_that_do_not_fit_name_the_field(platform) -> None:
    plant = platform.ctx.plant
    columns = ["time", "a", "b"]
    problems = check_options(ImportOptions(time_column="when", mapping={"a": "zhizao/nope", "c": TEMP1}),
                             columns, plant)
    assert any(p.startswith("options.time_column: no column 'when'") for p in problems)
    assert "options.mapping['a']: no tag 'zhizao/nope'" in problems
    assert "options.mapping['c']: no column 'c' in the file" in problems
    problems = check_options(ImportOptions(layout="long", time_column="time", tag_column="a", timezone="Mars/Base"),
                             columns, plant)
    assert "options.value_column: required for the long layout" in problems
    assert "options.timezone: unknown time zone 'Mars/Base'" in problems
    with pytest.raises(FileImportError, match="options.mapping: no column is mapped"):
        await commit(WIDE.encode(), "wide.csv", ImportOptions(time_column="time"), platform.ctx, source="x")


def test_unreadable_files_name_the_file() -> None:
    from zhizao.assets import load_demo_plant

    plant = load_demo_plant()
    with pytest.raises(FileImportError, match="'empty.csv' is empty"):
        preview(b"  \n", "empty.csv", plant)
    with pytest.raises(FileImportError, match="'broken.parquet'"):
        preview(b"PAR1 this is not parquet", "broken.parquet", plant)
    with pytest.raises(FileImportError, match="'image.png' is neither CSV text nor Parquet"):
        preview(b"\x89PNG\r\n\x1a\n\0\0\0", "image.png", plant)
