"""Modbus settings, block planning and the register map against the plant (no network)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from zhizao.assets.loader import PlantError, demo_plant_text, parse_plant
from zhizao.connect.modbus.config import ModbusConfig, RegisterEntry
from zhizao.connect.modbus.mapping import check_bindings, plan_blocks
from zhizao.connect.registry import connector_kinds

CNC1 = "zhizao/suzhou/machining/line1/turning/cnc1"


def config(*registers: dict, **device: object) -> dict:
    return {"devices": [{"name": "cnc1", "host": "127.0.0.1",
                         "groups": [{"name": "g", "registers": list(registers)}], **device}]}


def entry(tag: str = "temperature", **fields: object) -> dict:
    return {"tag": f"{CNC1}/{tag}", "table": "input", "address": 0, "type": "float32", **fields}


def test_the_kind_is_registered_with_a_schema() -> None:
    cls = connector_kinds()["modbus"]
    schema = cls.config_model.model_json_schema()
    assert "devices" in schema["properties"] and cls.title["en"] == "Modbus TCP"


def test_defaults() -> None:
    c = ModbusConfig.model_validate(config({"tag": f"{CNC1}/state", "address": 3}, {
        "tag": f"{CNC1}/x", "table": "coil", "address": 1}))
    d = c.devices[0]
    assert (d.port, d.unit_id, d.timeout_ms, d.retries, d.max_registers) == (502, 1, 1000, 1, 125)
    first, second = d.groups[0].registers
    assert (first.table, first.type, first.word_order, first.byte_order, first.scale) == (
        "holding", "uint16", "big", "big", 1.0)
    assert second.type == "bool" and second.count == 1
    assert d.groups[0].rate_ms == 1000


@pytest.mark.parametrize(("bad", "needle"), [
    (config(entry(table="coil")), "type: 'float32' does not fit table 'coil'"),
    (config(entry(type="bool")), "type: 'bool' does not fit table 'input'"),
    (config(entry(scale=0)), "scale: must be a finite number other than 0"),
    (config(entry(address=65535)), "address: float32 at 65535 runs past the last address 65535"),
    (config(entry(address=-1)), "greater than or equal to 0"),
    (config(entry(type="float32", enum={1: "running"})), "enum: needs an integer type"),
    (config(entry(type="uint16", enum={1: "running"}, scale=0.1)), "enum: codes are raw values"),
    (config(entry(), entry(address=10)), "is already mapped by devices[0] (cnc1) group 'g' registers[0]"),
    (config(entry(type="float64"), max_registers=2), "float64 needs 4 registers, more than max_registers 2"),
    (config(entry(), unit_id=256), "less than or equal to 255"),
    (config(entry(), port=0), "greater than or equal to 1"),
    (config(entry(), colour="red"), "Extra inputs are not permitted"),
    (config(entry(word_order="middle")), "'big' or 'little'"),
    ({"devices": []}, "at least 1 item"),
    ({**config(entry()), "reconnect_min_ms": 5000, "reconnect_max_ms": 1000}, "reconnect_max_ms: must be >="),
])
def test_bad_settings_are_refused_naming_the_field(bad, needle) -> None:
    with pytest.raises(ValidationError) as err:
        ModbusConfig.model_validate(bad)
    assert needle in str(err.value)


def test_duplicate_names_are_refused() -> None:
    one = config(entry())["devices"][0]
    with pytest.raises(ValidationError, match=r"devices\[1\].name: duplicate device name 'cnc1'"):
        ModbusConfig.model_validate({"devices": [one, {**one, "groups": [{"name": "h", "registers": [
            entry("power")]}]}]})
    with pytest.raises(ValidationError, match=r"groups\[1\].name: duplicate group name 'g'"):
        ModbusConfig.model_validate({"devices": [{**one, "groups": one["groups"] * 2}]})


def test_the_plant_loader_reports_bad_settings_with_their_line() -> None:
    bad = config(entry(table="coil"))
    text = demo_plant_text() + f"\nconnectors:\n  - name: plc\n    kind: modbus\n    config: {json.dumps(bad)}\n"
    with pytest.raises(PlantError) as err:
        parse_plant(text, file="plant.yaml")
    [problem] = err.value.problems
    assert problem.field.startswith("connectors[0].config.devices[0].groups[0].registers[0]")
    assert problem.line == text.splitlines().index("    config: " + json.dumps(bad)) + 1
    assert "does not fit table 'coil'" in problem.message


def entries(*spec: tuple[str, int, str]) -> list[RegisterEntry]:
    return [RegisterEntry(tag=f"{CNC1}/t{i}", table=table, address=address, type=reg_type)
            for i, (table, address, reg_type) in enumerate(spec)]


def test_contiguous_addresses_become_one_block_per_table() -> None:
    blocks = plan_blocks(entries(("input", 4, "float32"), ("input", 0, "float32"), ("input", 2, "uint16"),
                                 ("input", 3, "uint16"), ("holding", 2, "float32")), 125)
    assert [(b.table, b.address, b.count, len(b.entries)) for b in blocks] == [
        ("holding", 2, 2, 1), ("input", 0, 6, 4)]


def test_gaps_are_never_read() -> None:
    blocks = plan_blocks(entries(("input", 0, "float32"), ("input", 3, "uint16"), ("input", 10, "float64")), 125)
    assert [(b.address, b.count) for b in blocks] == [(0, 2), (3, 1), (10, 4)]


def test_blocks_respect_the_register_limit() -> None:
    many = entries(*(("input", 2 * i, "float32") for i in range(100)))  # 200 contiguous registers
    blocks = plan_blocks(many, 125)
    assert [(b.address, b.count) for b in blocks] == [(0, 124), (124, 76)]
    assert [b.count for b in plan_blocks(many, 10)] == [10] * 20
    assert sum(len(b.entries) for b in blocks) == 100


def test_overlapping_entries_share_a_block() -> None:
    blocks = plan_blocks(entries(("holding", 0, "uint32"), ("holding", 1, "uint16")), 125)
    assert [(b.address, b.count, len(b.entries)) for b in blocks] == [(0, 2, 2)]


def test_bits_coalesce_up_to_2000() -> None:
    bits = entries(*(("coil", i, "bool") for i in range(2500)))
    assert [(b.address, b.count) for b in plan_blocks(bits, 125)] == [(0, 2000), (2000, 500)]


def test_the_map_is_checked_against_the_plant() -> None:
    text = demo_plant_text().replace(
        "{id: humidity, unit: \"%RH\", range: [0, 100],",
        "{id: humidity, unit: \"%RH\", range: [0, 100], source: {connector: plc},")
    plant = parse_plant(text + "\nconnectors:\n  - {name: plc, kind: modbus, config: "
                        + json.dumps(config(entry())) + "}\n")
    c = ModbusConfig.model_validate(config(
        entry(), entry("nothing", address=2), entry("part_count", address=4), entry("state", address=6,
                                                                                     type="uint16"),
        entry("temperature2", address=8),
        {"tag": f"{CNC1}/power", "table": "input", "address": 10, "type": "uint16", "enum": {1: "on"}},
    ))
    problems = check_bindings(plant.tag_index(), "plc", c)
    got = [(p.cause, p.tag.rsplit("/", 1)[1]) for p in problems]
    assert got == [("unknown_tag", "nothing"), ("tag_type", "part_count"), ("tag_type", "state"),
                   ("unknown_tag", "temperature2"), ("tag_type", "power"), ("unmapped_tag", "humidity")]
    messages = [p.message() for p in problems]
    assert "devices[0] (cnc1) group 'g' registers[1].tag: the plant has no tag" in messages[0]
    assert "registers[2].type: '" in messages[1] and "is an int tag; float32 is not an integer type" in messages[1]
    assert "give the entry an enum" in messages[2]
    assert "enum is for string tags" in messages[4]
    assert "names connector 'plc' as its source" in messages[5]
    assert "没有映射" in problems[5].message("zh-CN")
