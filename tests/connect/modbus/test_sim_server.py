"""The simulator's Modbus TCP server, read by a plain pymodbus client: the documented layout."""

from __future__ import annotations

import math

import pytest
from pymodbus.client import AsyncModbusTcpClient
from tests.connect.modbus.modbus_helpers import f32, start_sim

from zhizao.assets.loader import demo_plant_text, parse_plant
from zhizao.connect.modbus.codec import decode, encode
from zhizao.connect.modbus.config import ModbusConfig
from zhizao.sim.modbus_server import STATE_CODES, modbus_connector_config, modbus_layout, serve_modbus


@pytest.fixture
async def served():
    side = await start_sim()
    client = AsyncModbusTcpClient("127.0.0.1", port=side.server.port, timeout=2, reconnect_delay=0)
    assert await client.connect()
    yield side, client
    client.close()
    await side.server.stop()


def test_units_follow_the_flow_then_the_other_equipment() -> None:
    units = modbus_layout(parse_plant(demo_plant_text()))
    assert [(u.unit_id, u.equipment.id) for u in units] == [
        (1, "cnc1"), (2, "buf1"), (3, "cnc2"), (4, "buf2"), (5, "mc1"), (6, "buf3"), (7, "wash1"), (8, "buf4"),
        (9, "asm1"), (10, "buf5"), (11, "insp1"), (12, "buf6"), (13, "pack1"), (14, "env1"), (15, "meter1")]
    cnc1 = units[0]
    assert [(s.tag.id, s.address, s.encoding, s.writable) for s in cnc1.slots][:5] == [
        ("state", 0, "state", False), ("part_count", 2, "uint32", False), ("good_count", 4, "uint32", False),
        ("scrap_count", 6, "uint32", False), ("temperature", 8, "float32", False)]
    assert (cnc1.slots[-1].tag.id, cnc1.slots[-1].address, cnc1.slots[-1].writable) == ("feed_override", 22, True)
    assert cnc1.size == 24


def test_the_generated_connector_settings_are_valid_and_cover_every_served_tag() -> None:
    plant = parse_plant(demo_plant_text())
    settings = modbus_connector_config(plant, "10.0.0.5", 5020, rate_ms=250)
    config = ModbusConfig.model_validate(settings)
    assert {d.host for d in config.devices} == {"10.0.0.5"} and {d.port for d in config.devices} == {5020}
    mapped = {e.tag: e for d in config.devices for g in d.groups for e in g.registers}
    assert set(mapped) == {t.path for t in plant.tags()}
    feed = mapped["zhizao/suzhou/machining/line1/turning/cnc1/feed_override"]
    assert (feed.table, feed.address, feed.type) == ("holding", 22, "float32")
    assert mapped["zhizao/suzhou/machining/line1/turning/cnc1/state"].enum[STATE_CODES["down"]] == "down"


async def test_registers_hold_the_published_values(served) -> None:
    side, client = served
    rr = await client.read_input_registers(0, count=24, device_id=1)  # cnc1: all twelve tags
    assert not rr.isError()
    regs = rr.registers
    assert regs[0] == STATE_CODES[side.last[side.path("cnc1", "state")]] and regs[1] == 0
    assert decode(regs[2:4], "uint32") == side.last[side.path("cnc1", "part_count")]
    assert decode(regs[8:10], "float32") == f32(side.last[side.path("cnc1", "temperature")])
    assert decode(regs[22:24], "float32") == side.last[side.path("cnc1", "feed_override")] == 100.0
    rr = await client.read_holding_registers(22, count=2, device_id=1)
    assert decode(rr.registers, "float32") == 100.0
    rr = await client.read_input_registers(18, count=2, device_id=11)  # insp1 bore: nothing measured yet
    assert math.isnan(decode(rr.registers, "float32"))
    side.sim.run_for(30)  # values follow the simulator's bus messages
    rr = await client.read_input_registers(0, count=2, device_id=14)  # env1 air temperature
    assert decode(rr.registers, "float32") == f32(side.last[side.path("env1", "air_temperature")])


async def test_writing_the_feed_override_calls_the_simulator(served) -> None:
    side, client = served
    rr = await client.write_registers(22, encode(85.5, "float32"), device_id=3)  # cnc2
    assert not rr.isError()
    assert side.feed_override("cnc2") == 85.5
    assert decode((await client.read_holding_registers(22, count=2, device_id=3)).registers, "float32") == 85.5
    rr = await client.write_registers(22, encode(500.0, "float32"), device_id=3)  # outside 50..120
    assert rr.isError() and rr.exception_code == 3
    assert side.feed_override("cnc2") == 85.5
    assert side.server.writes == 1


@pytest.mark.parametrize(("request_", "code"), [
    (lambda c: c.read_input_registers(24, count=2, device_id=1), 2),  # past cnc1's last tag
    (lambda c: c.read_holding_registers(0, count=2, device_id=1), 2),  # state is not writable
    (lambda c: c.write_registers(8, encode(1.0, "float32"), device_id=1), 2),  # nor is temperature
    (lambda c: c.write_coil(0, True, device_id=1), 2),  # no coils
    (lambda c: c.read_input_registers(0, count=2, device_id=99), 11),  # no such unit: gateway, no response
])
async def test_requests_outside_the_layout_get_exceptions(served, request_, code) -> None:
    _, client = served
    rr = await request_(client)
    assert rr.isError() and rr.exception_code == code


async def test_a_busy_port_is_a_clear_error(served) -> None:
    side, _ = served
    with pytest.raises(OSError, match=f"cannot serve Modbus TCP on 127.0.0.1:{side.server.port}"):
        await serve_modbus(side.sim, side.plant, side.bus, port=side.server.port)
