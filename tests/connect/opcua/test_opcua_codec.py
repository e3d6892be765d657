"""Settings checks and the conversions between OPC UA and Zhizao (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asyncua import ua
from tests.connect.opcua.opcua_helpers import client_plant

from zhizao.assets.loader import PlantError, parse_plant
from zhizao.connect.opcua.codec import (
    data_type_of,
    ms_of,
    quality_of,
    sanitise_id,
    status_name,
    to_tag_value,
    to_variant,
)


@pytest.mark.parametrize(("config", "expected"), [
    ({"endpoint": "http://10.0.0.5"}, "connectors[0].config.endpoint: String should match pattern"),
    ({"endpoint": "opc.tcp://h:4840", "reconnect_initial_s": 5, "reconnect_max_s": 1}, "reconnect_max_s must be >="),
    ({"endpoint": "opc.tcp://h:4840", "security_mode": "Encrypt"}, "connectors[0].config.security_mode"),
    ({"endpoint": "opc.tcp://h:4840", "client_certificate": "c.der"}, "give both or neither"),
])
def test_settings_are_checked_when_the_plant_loads(config, expected):
    plant = client_plant([{"name": "plc", "kind": "opcua", "config": config}], [])
    with pytest.raises(PlantError) as err:
        parse_plant(plant, file="plant.yaml")
    assert expected in str(err.value) and "plant.yaml line" in str(err.value)


@pytest.mark.parametrize(("value", "data_type", "expected"), [
    (3, "float", 3.0), (2.5, "float", 2.5), (7, "int", 7), (7.0, "int", 7), (True, "bool", True), (0, "bool", False),
    ("running", "string", "running"), (42, "string", "42"), (ua.LocalizedText("Auto"), "string", "Auto"),
])
def test_values_are_converted_to_the_tag_type(value, data_type, expected):
    converted, why = to_tag_value(value, data_type)
    assert why == "" and converted == expected and type(converted) is type(expected)


@pytest.mark.parametrize(("value", "data_type"), [
    ("hot", "float"), (True, "float"), (7.5, "int"), (2, "bool"), ([1, 2], "float"), (None, "int"), (b"\x01", "string"),
])
def test_values_that_do_not_fit_are_refused_with_a_reason(value, data_type):
    converted, why = to_tag_value(value, data_type)
    assert converted is None and why.startswith(f"expected {data_type}, got")


def test_variants_take_the_node_type_and_refuse_what_does_not_fit():
    assert to_variant(90, ua.VariantType.Double) == ua.Variant(90.0, ua.VariantType.Double)
    assert to_variant(12.0, ua.VariantType.UInt16) == ua.Variant(12, ua.VariantType.UInt16)
    with pytest.raises(ValueError, match="outside UInt16"):
        to_variant(70_000, ua.VariantType.UInt16)
    with pytest.raises(ValueError, match="does not fit Boolean"):
        to_variant(1, ua.VariantType.Boolean)


def test_status_codes_give_quality_and_names():
    assert quality_of(ua.StatusCode(ua.StatusCodes.Good)) == "good"
    assert quality_of(ua.StatusCode(ua.StatusCodes.UncertainSensorNotAccurate)) == "uncertain"
    assert quality_of(ua.StatusCode(ua.StatusCodes.BadSensorFailure)) == "bad"
    overflow_bits = 0x480  # info bits set on top of the code
    assert status_name(ua.StatusCode(ua.StatusCodes.BadSensorFailure | overflow_bits)) == "BadSensorFailure"


def test_data_types_ids_and_timestamps():
    assert data_type_of(ua.NodeId(ua.ObjectIds.Double)) == "float"
    assert data_type_of(ua.NodeId(ua.ObjectIds.UInt32)) == "int"
    assert data_type_of(ua.NodeId(ua.ObjectIds.LocalizedText)) == "string"
    assert data_type_of(ua.NodeId(ua.ObjectIds.DateTime)) is None
    assert data_type_of(ua.NodeId(3005, 3)) is None  # a vendor structure
    assert sanitise_id("Spindle Speed (rpm)") == "spindle_speed_rpm"
    assert sanitise_id("motorCurrent") == "motor_current"
    assert sanitise_id("温度") == ""
    assert ms_of(datetime(2026, 1, 1, tzinfo=UTC)) == 1_767_225_600_000
    assert ms_of(datetime(1601, 1, 1, tzinfo=UTC)) is None  # "no timestamp" in OPC UA
