"""The Modbus connector of a real platform polling the simulator's real Modbus TCP server."""

from __future__ import annotations

import asyncio
import contextlib
import math

import pytest
from tests.connect.modbus.modbus_helpers import (
    START_MS,
    dead_letters,
    device,
    f32,
    group,
    modbus,
    points,
    reg,
    start_platform,
    start_sim,
    wait_for,
)

from zhizao.assets.loader import demo_plant_text
from zhizao.connect.modbus.connector import ModbusWriteError
from zhizao.sim.modbus_server import modbus_connector_config


@pytest.fixture
async def side():
    side = await start_sim()
    yield side
    await side.server.stop()


@pytest.fixture
async def platforms():
    started = []
    yield started
    for platform in started:
        await platform.stop()


async def test_simulator_values_arrive_in_the_historian(tmp_path, side, platforms) -> None:
    config = modbus_connector_config(side.plant, "127.0.0.1", side.server.port, rate_ms=50)
    platform = await start_platform(tmp_path, config)
    platforms.append(platform)
    plc = modbus(platform)
    historian = platform.ctx.historian
    # Every value the simulator holds, except the inspection's bore (no part measured yet: NaN).
    expected = {path: v for path, v in side.last.items() if not path.endswith("/bore_diameter")}
    assert len(expected) == len(platform.ctx.plant.tags()) - 1
    await wait_for(lambda: set(expected) <= set(historian.latest()), what="every tag in the historian")
    latest = historian.latest()
    for path, v in expected.items():
        got = latest[path].v
        if isinstance(v, float):
            assert got == f32(v), path  # served as float32
        else:
            assert got == v and type(got) is type(v), path  # counters as uint32, states as enum codes
    assert latest[side.path("cnc1", "state")].v in ("running", "idle", "setup", "down", "maintenance", "off")
    health = plc.health()
    assert health.tags == len(platform.ctx.plant.tags())
    assert health.counters["points"] >= len(expected)
    # The bore has no value yet: counted and dead-lettered once, not stored, and the link is healthy.
    bore = side.path("insp1", "bore_diameter")
    assert bore not in historian.latest()
    await wait_for(lambda: plc.health().counters.get("non_finite", 0) >= 3, what="three polls of the bore")
    [letter] = dead_letters(platform, "non_finite")
    assert letter["tag"] == bore and "not a finite number" in letter["detail"]
    assert plc.health().state == "connected"


async def test_two_groups_poll_at_their_own_rates(tmp_path, side, platforms) -> None:
    p = side.plant
    config = {"devices": [device("cnc1", side.server.port, [
        group("fast", 20, reg(p, "cnc1", "temperature"), reg(p, "cnc1", "vibration_rms")),
        group("slow", 600_000, reg(p, "cnc1", "part_count", type="uint32")),
    ])]}
    platform = await start_platform(tmp_path, config)
    platforms.append(platform)
    temperature, parts = side.path("cnc1", "temperature"), side.path("cnc1", "part_count")
    await wait_for(lambda: len(points(platform, temperature)) >= 5 and points(platform, parts),
                   what="five fast polls")
    assert len(points(platform, parts)) == 1  # the slow group's next turn is ten minutes away
    assert points(platform, parts)[0].v == side.last[parts]
    fast = points(platform, temperature)
    assert len({pt.ts for pt in fast}) == len(fast)  # stamped at each read
    assert points(platform, side.path("cnc1", "vibration_rms"))  # both entries come in the same block read


async def test_illegal_address_is_counted_and_dead_lettered_once_while_the_rest_flows(
        tmp_path, side, platforms) -> None:
    p = side.plant
    config = {"devices": [
        device("cnc1", side.server.port, [
            group("good", 20, reg(p, "cnc1", "temperature")),
            group("bad", 20, reg(p, "cnc1", "power", address=5000), reg(p, "cnc1", "motor_current")),
        ]),
        device("cnc2", side.server.port, [group("all", 20, reg(p, "cnc2", "temperature"))]),
    ]}
    platform = await start_platform(tmp_path, config)
    platforms.append(platform)
    plc = modbus(platform)
    await wait_for(lambda: plc.health().counters.get("illegal_address", 0) >= 5, what="five refused polls")
    flowing = len(points(platform, side.path("cnc1", "temperature")))
    await wait_for(lambda: len(points(platform, side.path("cnc1", "temperature"))) > flowing + 3,
                   what="the good group keeps flowing")
    assert points(platform, side.path("cnc2", "temperature"))  # the other device too
    assert points(platform, side.path("cnc1", "motor_current"))  # and the bad group's valid block
    assert side.path("cnc1", "power") not in platform.ctx.historian.latest()
    [letter] = dead_letters(platform, "illegal_address")  # once per error streak, not per poll
    assert "5000..5001" in letter["detail"] and "exception 2 (illegal_address)" in letter["detail"]
    assert letter["tag"] == side.path("cnc1", "power") and letter["payload"]["group"] == "bad"
    health = plc.health()
    assert health.state == "degraded" and "cnc1/bad: illegal_address" in health.detail


async def test_map_problems_are_reported_and_the_rest_polls(tmp_path, side, platforms) -> None:
    p = side.plant
    config = {"devices": [device("cnc1", side.server.port, [group("all", 20,
        reg(p, "cnc1", "temperature"),
        reg(p, "cnc1", "power") | {"tag": "zhizao/suzhou/machining/line1/turning/cnc1/no_such_tag"},
        reg(p, "cnc1", "part_count"),  # float32 cannot feed an int tag
        reg(p, "cnc1", "state", type="uint16"),  # a string tag needs an enum
    )])]}
    # A tag bound to the connector by its source, but left out of the register map.
    text = demo_plant_text().replace(
        "{id: humidity, unit: \"%RH\", range: [0, 100],",
        "{id: humidity, unit: \"%RH\", range: [0, 100], source: {connector: plc},")
    platform = await start_platform(tmp_path, config, plant_text=text)
    platforms.append(platform)
    plc = modbus(platform)
    await wait_for(lambda: points(platform, side.path("cnc1", "temperature")), what="the valid entry polled")
    [unknown] = dead_letters(platform, "unknown_tag")
    assert "registers[1].tag: the plant has no tag 'zhizao/suzhou/machining/line1/turning/cnc1/no_such_tag'" \
        in unknown["detail"]
    details = sorted(d["detail"] for d in dead_letters(platform, "tag_type"))
    assert len(details) == 2
    assert "registers[2].type" in details[0] and "int tag; float32 is not an integer type" in details[0]
    assert "registers[3]" in details[1] and "give the entry an enum" in details[1]
    [unmapped] = dead_letters(platform, "unmapped_tag")
    assert unmapped["tag"] == side.path("env1", "humidity") and "names connector 'plc'" in unmapped["detail"]
    health = plc.health()
    assert health.counters["unknown_tag"] == 1 and health.counters["tag_type"] == 2
    assert health.state == "degraded" and "4 register map problem(s)" in health.detail


async def test_connection_loss_then_reconnect(tmp_path, side, platforms) -> None:
    p = side.plant
    config = {"devices": [device("cnc1", side.server.port, [group("all", 20, reg(p, "cnc1", "temperature"))])],
              "reconnect_min_ms": 20, "reconnect_max_ms": 100}
    platform = await start_platform(tmp_path, config)
    platforms.append(platform)
    plc = modbus(platform)
    path = side.path("cnc1", "temperature")
    await wait_for(lambda: points(platform, path), what="first points")
    await side.server.stop()
    await wait_for(lambda: plc.health().state == "disconnected", what="disconnected")
    assert plc.health().counters["connection_lost"] == 1
    await wait_for(lambda: plc.health().counters.get("connect_failed", 0) >= 2, what="reconnect attempts")
    assert "cannot connect to 127.0.0.1" in plc.health().detail
    before = platform.ctx.historian.latest()[path].ts
    await side.restart()
    side.sim.run_for(10)  # the new server has values once the simulator publishes again
    await wait_for(lambda: plc.health().state == "connected", what="reconnected")
    await wait_for(lambda: platform.ctx.historian.latest()[path].ts > before, what="new points after reconnecting")


async def test_a_silent_device_counts_timeouts(tmp_path, side, platforms) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while await reader.read(1024):
                pass
        writer.close()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    p = side.plant
    config = {"devices": [
        device("cnc1", port, [group("all", 20, reg(p, "cnc1", "temperature"))], timeout_ms=30, retries=0),
        device("cnc2", side.server.port, [group("all", 20, reg(p, "cnc2", "temperature"))]),
    ], "reconnect_min_ms": 20, "reconnect_max_ms": 40}
    try:
        platform = await start_platform(tmp_path, config)
        platforms.append(platform)
        plc = modbus(platform)
        await wait_for(lambda: plc.health().counters.get("timeout", 0) >= 2, what="timeouts")
        await wait_for(lambda: plc.health().counters.get("connection_lost", 0) >= 1,
                       what="the unresponsive connection dropped and renewed")
        assert points(platform, side.path("cnc2", "temperature"))  # the other device is not held up
        assert plc.health().state == "degraded" and "cnc1" in plc.health().detail
        assert dead_letters(platform, "timeout") == []  # no answer is counted, not dead-lettered
    finally:
        silent.close()


async def test_write_back_with_read_back(tmp_path, side, platforms) -> None:
    config = modbus_connector_config(side.plant, "127.0.0.1", side.server.port, rate_ms=20)
    platform = await start_platform(tmp_path, config)
    platforms.append(platform)
    plc = modbus(platform)
    await wait_for(lambda: plc.health().state == "connected", what="connected")
    tag = platform.ctx.plant.tag_index()[side.path("cnc2", "feed_override")]
    assert side.feed_override("cnc2") == 100.0
    await plc.write(tag, 80)
    assert side.feed_override("cnc2") == 80.0  # the simulator's set_feed_override was called
    assert await plc.read(tag) == 80.0
    assert plc.health().counters["writes"] == 1
    latest = platform.ctx.historian.latest
    await wait_for(lambda: getattr(latest().get(tag.path), "v", None) == 80.0, what="the new setpoint polled")
    await plc.write(tag, 72.5)
    assert await plc.read(tag) == 72.5 and side.feed_override("cnc2") == 72.5


async def test_writes_the_tag_or_device_cannot_take_are_refused(tmp_path, side, platforms) -> None:
    # The platform's plant allows up to 200 %, the simulated machine only 120 %.
    text = demo_plant_text().replace("range: [50, 120]", "range: [50, 200]")
    config = modbus_connector_config(side.plant, "127.0.0.1", side.server.port, rate_ms=20)
    platform = await start_platform(tmp_path, config, plant_text=text)
    platforms.append(platform)
    plc = modbus(platform)
    await wait_for(lambda: plc.health().state == "connected", what="connected")
    index = platform.ctx.plant.tag_index()
    feed = index[side.path("cnc1", "feed_override")]

    with pytest.raises(ModbusWriteError) as err:
        await plc.write(feed, 250)
    assert "250 is outside the tag's range 50 .. 200 %" in str(err.value)
    assert "超出位号量程" in err.value.message("zh-CN")

    with pytest.raises(ModbusWriteError) as err:  # inside the plant's range, refused by the device
        await plc.write(feed, 150)
    assert "refused with exception 3 (illegal_value)" in str(err.value)
    assert plc.health().counters["write_refused"] == 1

    with pytest.raises(ModbusWriteError) as err:
        await plc.write(feed, math.nan)
    assert "not a finite number" in str(err.value)

    with pytest.raises(ModbusWriteError) as err:
        await plc.write(index[side.path("cnc1", "temperature")], 50.0)
    assert "is not writable" in str(err.value)
    assert side.feed_override("cnc1") == 100.0  # nothing reached the machine


async def test_stop_and_start_again(tmp_path, side, platforms) -> None:
    p = side.plant
    config = {"devices": [device("cnc1", side.server.port, [group("all", 20, reg(p, "cnc1", "temperature"))])]}
    platform = await start_platform(tmp_path, config)
    platforms.append(platform)
    plc = modbus(platform)
    await wait_for(lambda: plc.health().state == "connected", what="connected")
    await platform.ctx.services["connectors"].restart("plc")
    assert plc.health().state in ("starting", "connected")
    await wait_for(lambda: plc.health().state == "connected", what="connected again")
    await plc.stop()
    assert plc.health().state == "stopped"


async def test_bool_tags_come_from_discrete_inputs(tmp_path, platforms) -> None:
    door = "{id: door_open, data_type: bool, writable: true, description: {en: Door open, zh: 门开}}"
    indent = " " * 24
    text = demo_plant_text().replace(f"{indent}- {{id: air_temperature,",
                                     f"{indent}- {door}\n{indent}- {{id: air_temperature,")
    side = await start_sim(plant_text=text)
    try:
        config = modbus_connector_config(side.plant, "127.0.0.1", side.server.port, rate_ms=20)
        [env1] = [d for d in config["devices"] if d["name"] == "env1"]
        assert env1["groups"][0]["registers"][0] == {
            "tag": side.path("env1", "door_open"), "table": "discrete", "address": 0, "type": "bool"}
        platform = await start_platform(tmp_path, config, plant_text=text)
        platforms.append(platform)
        path = side.path("env1", "door_open")
        latest = platform.ctx.historian.latest
        await wait_for(lambda: getattr(latest().get(path), "v", None) is False, what="the door closed")
        side.bus.publish(path, {"ts": START_MS, "v": True})
        await wait_for(lambda: getattr(latest().get(path), "v", None) is True, what="the door open")
        with pytest.raises(ModbusWriteError, match="mapped to discrete inputs, which are read-only"):
            await modbus(platform).write(platform.ctx.plant.tag_index()[path], False)
    finally:
        await side.server.stop()
