"""Register codec: known vectors, encode -> decode round trips for every type and order, checked writes."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhizao.connect.modbus.codec import (
    INT_LIMITS,
    CodecError,
    decode,
    encode,
    register_count,
    to_engineering,
    to_raw,
)

ORDERS = [("big", "big"), ("little", "big"), ("big", "little"), ("little", "little")]
orders = st.sampled_from(ORDERS)


@pytest.mark.parametrize(("value", "reg_type", "word_order", "byte_order", "registers"), [
    (1.0, "float32", "big", "big", [0x3F80, 0x0000]),
    (1.0, "float32", "little", "big", [0x0000, 0x3F80]),
    (1.0, "float32", "big", "little", [0x803F, 0x0000]),
    (1.0, "float32", "little", "little", [0x0000, 0x803F]),
    (-2.5, "float32", "big", "big", [0xC020, 0x0000]),
    (1.0, "float64", "big", "big", [0x3FF0, 0, 0, 0]),
    (1.0, "float64", "little", "big", [0, 0, 0, 0x3FF0]),
    (0x12345678, "uint32", "big", "big", [0x1234, 0x5678]),
    (0x12345678, "uint32", "little", "big", [0x5678, 0x1234]),
    (0x12345678, "uint32", "big", "little", [0x3412, 0x7856]),
    (0x12345678, "uint32", "little", "little", [0x7856, 0x3412]),
    (-1, "int32", "big", "big", [0xFFFF, 0xFFFF]),
    (-2, "int32", "little", "big", [0xFFFE, 0xFFFF]),
    (-1, "int16", "big", "big", [0xFFFF]),
    (0x1234, "uint16", "big", "little", [0x3412]),
    (0x1234, "uint16", "little", "big", [0x1234]),  # one word: word order does not matter
])
def test_known_vectors(value, reg_type, word_order, byte_order, registers) -> None:
    assert encode(value, reg_type, word_order, byte_order) == registers
    assert decode(registers, reg_type, word_order, byte_order) == value


@given(st.sampled_from(sorted(INT_LIMITS)).flatmap(
    lambda t: st.tuples(st.just(t), st.integers(*INT_LIMITS[t]))), orders)
def test_integers_round_trip(type_and_value, order) -> None:
    reg_type, value = type_and_value
    registers = encode(value, reg_type, *order)
    assert len(registers) == register_count(reg_type)
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert decode(registers, reg_type, *order) == value


@given(st.floats(width=32, allow_nan=False), orders)
def test_float32_round_trip(value, order) -> None:
    assert decode(encode(value, "float32", *order), "float32", *order) == value


@given(st.floats(allow_nan=False), orders)
def test_float64_round_trip(value, order) -> None:
    assert decode(encode(value, "float64", *order), "float64", *order) == value


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e30, max_value=1e30), orders)
def test_float32_keeps_the_nearest_float32(value, order) -> None:
    nearest = struct.unpack(">f", struct.pack(">f", value))[0]
    assert decode(encode(value, "float32", *order), "float32", *order) == nearest


@given(st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=2), orders)
def test_decode_encode_is_identity_on_registers(registers, order) -> None:
    value = decode(registers, "uint32", *order)
    assert encode(value, "uint32", *order) == registers


@given(st.booleans())
def test_bool_round_trip(value) -> None:
    assert decode(encode(value, "bool"), "bool") is value


def test_nan_is_representable_for_devices_that_mean_no_value() -> None:
    assert math.isnan(decode(encode(math.nan, "float32"), "float32"))


@given(st.sampled_from(sorted(INT_LIMITS)).flatmap(lambda t: st.tuples(st.just(t), st.integers(*INT_LIMITS[t]))),
       st.sampled_from([0.1, 0.01, 2.0, -0.5]), st.sampled_from([0.0, -40.0, 273.15]))
def test_scaled_writes_round_trip(type_and_raw, scale, offset) -> None:
    reg_type, raw = type_and_raw
    value = to_engineering(raw, scale, offset)
    assert to_raw(value, reg_type, scale, offset) == raw


def test_engineering_value() -> None:
    assert to_engineering(725, 0.1) == pytest.approx(72.5)
    assert to_engineering(10, 2, 1) == 21 and isinstance(to_engineering(10, 2, 1), int)
    assert to_engineering(True, 10) is True


@pytest.mark.parametrize(("call", "needle"), [
    (lambda: encode(70000, "uint16"), "does not fit uint16 (0 .. 65535)"),
    (lambda: encode(-1, "uint32"), "does not fit uint32"),
    (lambda: encode(1.5, "int16"), "whole numbers only"),
    (lambda: encode(1e39, "float32"), "does not fit float32"),
    (lambda: encode(2, "bool"), "true/false"),
    (lambda: decode([1], "float32"), "expected 2 register(s), got 1"),
    (lambda: decode([70000], "uint16"), "not a 16-bit unsigned number"),
    (lambda: to_raw(72.55, "uint16", 0.1), "must be a whole number"),
    (lambda: to_raw(7000, "uint16", 0.1), "outside what uint16 holds with this scale and offset (0 .. 6553.5"),
    (lambda: to_raw(1.0, "uint16", -0.1), "(-6553.5 .. 0)"),
    (lambda: to_raw(math.inf, "float32"), "not a finite number"),
    (lambda: to_raw("80", "float32"), "expected a number"),
    (lambda: to_raw(True, "float32"), "expected a number"),
])
def test_unrepresentable_values_are_refused_with_a_reason(call, needle) -> None:
    with pytest.raises(CodecError) as err:
        call()
    assert needle in str(err.value)


def test_codec_errors_are_catalogued_in_both_languages() -> None:
    with pytest.raises(CodecError) as err:
        encode(70000, "uint16")
    assert "65535" in err.value.message("zh-CN") and "范围" in err.value.message("zh-CN")
