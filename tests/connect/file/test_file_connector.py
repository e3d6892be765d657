"""The ``file`` connector: a watched folder, imported files moved to done/ or failed/."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from zhizao.assets.loader import PlantError, demo_plant_text, parse_plant
from zhizao.core.config import Settings
from zhizao.runtime import Platform

TEMP1 = "zhizao/suzhou/machining/line1/turning/cnc1/temperature"
T0 = (int(time.time()) // 86_400 - 1) * 86_400_000  # yesterday 00:00 UTC: inside the retention


def plant_with_connector(tmp_path: Path, config: str) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(demo_plant_text() + f"\nconnectors:\n  - name: drop\n    kind: file\n    config: {config}\n",
                    encoding="utf-8")
    return path


async def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_folder_is_watched_and_files_are_moved(tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.csv").write_text(f"ts,cnc1/temperature\n{T0},60.5\n{T0 + 1000},oops\n{T0 + 2000},61\n")
    (inbox / "notime.csv").write_text("a,b\n1,2\n")
    (inbox / "ignored.txt").write_text("not matched by the pattern")
    plant = plant_with_connector(tmp_path, f"{{path: '{inbox}', pattern: '*.csv', poll_s: 0.1, settle_s: 0}}")
    platform = Platform(Settings(data_dir=tmp_path / "data", plant_file=plant))
    await platform.start()
    try:
        connector = platform.ctx.services["connectors"].connectors["drop"]
        await wait_for(lambda: not list(inbox.glob("*.csv")))

        report = json.loads((inbox / "done" / "good.csv.result.json").read_text(encoding="utf-8"))
        assert report["accepted"] == 2 and report["rejected"] == {"wrong_type": 1}
        assert report["bad_rows"][0]["row"] == 2 and report["bad_rows"][0]["column"] == "cnc1/temperature"
        failed = json.loads((inbox / "failed" / "notime.csv.result.json").read_text(encoding="utf-8"))
        assert "time_column: no time column found in 'notime.csv'" in failed["error"]
        assert (inbox / "ignored.txt").exists()

        points = platform.ctx.historian.read_raw(TEMP1, T0, T0 + 10_000)
        assert [(p.ts, p.v) for p in points] == [(T0, 60.5), (T0 + 2000, 61.0)]
        health = connector.health()
        assert health.kind == "file" and health.state == "connected" and str(inbox) in health.detail
        assert health.counters["files_done"] == 1 and health.counters["files_failed"] == 1
        assert health.counters["points"] == 2 and health.counters["wrong_type"] == 1
        causes = {d["cause"]: d["detail"] for d in platform.ctx.services["ingest"].dead_letters(source="drop")}
        assert "good.csv row 2 (line 3), column 'cnc1/temperature'" in causes["wrong_type"]
        assert "notime.csv" in causes["files_failed"]

        # a file with a name seen before is imported too, and kept beside the first one
        (inbox / "good.csv").write_text(f"ts,cnc1/temperature\n{T0 + 3000},62\n")
        await wait_for(lambda: len(list((inbox / "done").glob("good*.csv"))) == 2)
    finally:
        await platform.stop()
    assert connector.health().state == "stopped"


async def test_missing_folder_and_fixed_settings(tmp_path) -> None:
    inbox = tmp_path / "later"
    config = (f"{{path: '{inbox}', pattern: '*.txt', poll_s: 0.1, settle_s: 0, layout: long, time_column: when, "
              f"tag_column: what, value_column: how_much, timezone: UTC, mapping: {{t1: '{TEMP1}'}}, "
              f"auto_map: false}}")
    platform = Platform(Settings(data_dir=tmp_path / "data", plant_file=plant_with_connector(tmp_path, config)))
    await platform.start()
    try:
        connector = platform.ctx.services["connectors"].connectors["drop"]
        await wait_for(lambda: connector.health().state == "disconnected")
        assert f"folder '{inbox}' does not exist" in connector.health().detail
        inbox.mkdir()
        day = time.strftime("%Y-%m-%d", time.gmtime(T0 / 1000))
        (inbox / "x.txt").write_text("when;what;how_much\n1970-01-02 00:00:00;t1;5\n"
                                     f"{day} 00:00:01;t1;6\n{day} 00:00:02;cnc1/temperature;7\n")
        await wait_for(lambda: (inbox / "done" / "x.txt.result.json").exists())
        report = json.loads((inbox / "done" / "x.txt.result.json").read_text(encoding="utf-8"))
        # auto_map off: a name not in the mapping is an unknown tag; 1970 is before the historian's range
        assert report["accepted"] == 1 and report["rejected"] == {"unknown_tag": 1, "bad_timestamp": 1}
        assert [(p.ts, p.v) for p in platform.ctx.historian.read_raw(TEMP1, T0, T0 + 10_000)] == [(T0 + 1000, 6.0)]
    finally:
        await platform.stop()


def test_settings_are_checked_when_the_plant_loads(tmp_path) -> None:
    text = demo_plant_text() + "\nconnectors:\n  - {name: drop, kind: file, config: {pattern: '*.csv', poll_s: 0}}\n"
    with pytest.raises(PlantError) as err:
        parse_plant(text, "plant.yaml")
    fields = {p.field for p in err.value.problems}
    assert {"connectors[0].config.path", "connectors[0].config.poll_s"} <= fields
