"""Register encoding: values <-> lists of 16-bit Modbus registers (pure functions).

Multi-register values are laid out as their big-endian bytes cut into 16-bit
words. ``byte_order="little"`` swaps the two bytes inside every word;
``word_order="little"`` puts the least significant word first. So float32 1.0
(bytes 3F 80 00 00) is ``[0x3F80, 0x0000]`` big/big, ``[0x0000, 0x3F80]`` with
the words swapped and ``[0x803F, 0x0000]`` with the bytes swapped.

Engineering value = raw * scale + offset (the inverse on writes, checked: the
raw value must fit the register type, and integer types take whole numbers only).
"""

from __future__ import annotations

import math
import struct
from typing import Literal

from zhizao.core.i18n import t

RegType = Literal["int16", "uint16", "int32", "uint32", "float32", "float64", "bool"]
Order = Literal["big", "little"]

# struct format and register count of each register type ("bool" is a coil or discrete input: one bit).
FORMATS: dict[str, tuple[str, int]] = {
    "int16": ("h", 1), "uint16": ("H", 1), "int32": ("i", 2), "uint32": ("I", 2),
    "float32": ("f", 2), "float64": ("d", 4),
}
INT_LIMITS: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1),
}
FLOAT32_MAX = 3.4028234663852886e38
# Relative slack when checking that (value - offset) / scale is a whole number (float rounding of the division).
INTEGRAL_TOLERANCE = 1e-9


class CodecError(ValueError):
    """A value that cannot be encoded or decoded; the message (catalogued) says why."""

    def __init__(self, key: str, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.params)


def register_count(reg_type: str) -> int:
    """Registers (or bits, for ``bool``) one value of ``reg_type`` occupies."""
    return 1 if reg_type == "bool" else FORMATS[reg_type][1]


def _words(data: bytes, word_order: Order, byte_order: Order) -> list[int]:
    words = [data[i:i + 2] for i in range(0, len(data), 2)]
    if byte_order == "little":
        words = [w[::-1] for w in words]
    if word_order == "little":
        words.reverse()
    return [int.from_bytes(w, "big") for w in words]


def _bytes(registers: list[int], word_order: Order, byte_order: Order) -> bytes:
    words = [r.to_bytes(2, "big") for r in registers]
    if word_order == "little":
        words.reverse()
    if byte_order == "little":
        words = [w[::-1] for w in words]
    return b"".join(words)


def decode(registers: list[int] | list[bool], reg_type: str, word_order: Order = "big",
           byte_order: Order = "big") -> int | float | bool:
    """The raw value held in ``registers`` (exactly ``register_count(reg_type)`` of them)."""
    if reg_type == "bool":
        if len(registers) != 1:
            raise CodecError("modbus.codec.count", type=reg_type, expected=1, got=len(registers))
        return bool(registers[0])
    fmt, count = FORMATS[reg_type]
    if len(registers) != count:
        raise CodecError("modbus.codec.count", type=reg_type, expected=count, got=len(registers))
    for r in registers:
        if not (isinstance(r, int) and 0 <= r <= 0xFFFF):
            raise CodecError("modbus.codec.register", value=r)
    return struct.unpack(">" + fmt, _bytes(list(registers), word_order, byte_order))[0]


def encode(raw: int | float | bool, reg_type: str, word_order: Order = "big",
           byte_order: Order = "big") -> list[int]:
    """Registers holding the raw value (``[0|1]`` for ``bool``); ``CodecError`` when it does not fit."""
    if reg_type == "bool":
        if raw not in (0, 1):  # True/False and 0/1 (including 0.0, 1.0)
            raise CodecError("modbus.codec.bool", value=raw)
        return [int(raw)]
    fmt, _ = FORMATS[reg_type]
    if reg_type in INT_LIMITS:
        if isinstance(raw, float):
            if not (math.isfinite(raw) and raw.is_integer()):
                raise CodecError("modbus.codec.integral", type=reg_type, value=raw)
            raw = int(raw)
        low, high = INT_LIMITS[reg_type]
        if not low <= raw <= high:
            raise CodecError("modbus.codec.range", type=reg_type, value=raw, low=low, high=high)
    else:
        raw = float(raw)  # NaN and infinities are representable (devices use NaN for "no value")
        if reg_type == "float32" and math.isfinite(raw) and abs(raw) > FLOAT32_MAX:
            raise CodecError("modbus.codec.range", type=reg_type, value=raw, low=f"{-FLOAT32_MAX:g}",
                             high=f"{FLOAT32_MAX:g}")
    return _words(struct.pack(">" + fmt, raw), word_order, byte_order)


def to_engineering(raw: int | float | bool, scale: float = 1.0, offset: float = 0.0) -> int | float | bool:
    """``raw * scale + offset``; integers stay integers when scale and offset keep them whole."""
    if isinstance(raw, bool) or (scale == 1.0 and offset == 0.0):
        return raw
    value = raw * scale + offset
    if isinstance(raw, int) and float(scale).is_integer() and float(offset).is_integer():
        return int(value)
    return value


def to_raw(value: int | float | bool, reg_type: str, scale: float = 1.0, offset: float = 0.0) -> int | float | bool:
    """The raw register value for an engineering ``value`` (inverse of ``to_engineering``), checked."""
    if reg_type == "bool":
        if isinstance(value, bool) or value in (0, 1):
            return bool(value)
        raise CodecError("modbus.codec.bool", value=value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CodecError("modbus.codec.number", value=value)
    if not math.isfinite(value):
        raise CodecError("modbus.codec.finite", value=value)
    raw = value if scale == 1.0 and offset == 0.0 else (value - offset) / scale
    if reg_type in INT_LIMITS:
        whole = round(raw)
        if abs(raw - whole) > INTEGRAL_TOLERANCE * max(1.0, abs(raw)):
            raise CodecError("modbus.codec.step", value=value, type=reg_type, scale=scale, offset=offset)
        low, high = INT_LIMITS[reg_type]
        if not low <= whole <= high:
            ends = sorted((to_engineering(low, scale, offset), to_engineering(high, scale, offset)))
            raise CodecError("modbus.codec.scaled_range", value=value, type=reg_type, low=f"{ends[0]:g}",
                             high=f"{ends[1]:g}")
        return whole
    return float(raw)
