"""Between OPC UA and Zhizao: data types, status codes, timestamps and tag ids.

Shared by the client connector and the simulator's OPC UA server.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncua import ua

NAMESPACE_URI = "urn:zhizao:plant"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The variant type a tag of each data_type is served as.
VARIANT_OF_TYPE: dict[str, ua.VariantType] = {
    "float": ua.VariantType.Double,
    "int": ua.VariantType.Int64,
    "bool": ua.VariantType.Boolean,
    "string": ua.VariantType.String,
}

_INT_VARIANTS = {ua.VariantType.SByte, ua.VariantType.Byte, ua.VariantType.Int16, ua.VariantType.UInt16,
                 ua.VariantType.Int32, ua.VariantType.UInt32, ua.VariantType.Int64, ua.VariantType.UInt64}
_INT_RANGES = {
    ua.VariantType.SByte: (-(2**7), 2**7 - 1), ua.VariantType.Byte: (0, 2**8 - 1),
    ua.VariantType.Int16: (-(2**15), 2**15 - 1), ua.VariantType.UInt16: (0, 2**16 - 1),
    ua.VariantType.Int32: (-(2**31), 2**31 - 1), ua.VariantType.UInt32: (0, 2**32 - 1),
    ua.VariantType.Int64: (-(2**63), 2**63 - 1), ua.VariantType.UInt64: (0, 2**64 - 1),
}
_FLOAT_VARIANTS = {ua.VariantType.Float, ua.VariantType.Double}
ENUMERATION = 29  # i=29: Enumeration; its subtypes travel as Int32


def data_type_of(datatype: ua.NodeId) -> str | None:
    """The tag data_type for an OPC UA DataType node id; None when Zhizao cannot store it."""
    if datatype.NamespaceIndex != 0 or not isinstance(datatype.Identifier, int):
        return None
    ident = datatype.Identifier
    if ident == ENUMERATION:
        return "int"
    if ident > 25:
        return None
    vtype = ua.VariantType(ident)
    if vtype == ua.VariantType.Boolean:
        return "bool"
    if vtype in _INT_VARIANTS:
        return "int"
    if vtype in _FLOAT_VARIANTS:
        return "float"
    if vtype in (ua.VariantType.String, ua.VariantType.LocalizedText):
        return "string"
    return None


def variant_type_of(datatype: ua.NodeId) -> ua.VariantType | None:
    """The variant type a value written to a node of this DataType must have (built-in types only)."""
    if datatype.NamespaceIndex == 0 and isinstance(datatype.Identifier, int):
        if datatype.Identifier == ENUMERATION:
            return ua.VariantType.Int32
        if 1 <= datatype.Identifier <= 25:
            return ua.VariantType(datatype.Identifier)
    return None


def to_tag_value(value: Any, data_type: str) -> tuple[Any, str]:
    """(value converted to ``data_type``, "") or (None, why it does not fit)."""
    if isinstance(value, ua.LocalizedText):
        value = value.Text
    if data_type == "string":
        if isinstance(value, str):
            return value, ""
        if isinstance(value, bool | int | float) and not (isinstance(value, float) and not math.isfinite(value)):
            return str(value), ""
    elif data_type == "bool":
        if isinstance(value, bool):
            return value, ""
        if isinstance(value, int) and value in (0, 1):
            return bool(value), ""
    elif isinstance(value, bool):
        pass  # a bool is no number here
    elif data_type == "float":
        if isinstance(value, int | float):
            return float(value), ""
    elif data_type == "int":
        if isinstance(value, int):
            return value, ""
        if isinstance(value, float) and value.is_integer():
            return int(value), ""
    return None, f"expected {data_type}, got {type(value).__name__} {_show(value)}"


def to_variant(value: Any, vtype: ua.VariantType) -> ua.Variant:
    """``value`` as a variant of ``vtype``; ``ValueError`` saying why when it does not fit."""
    if vtype == ua.VariantType.Boolean:
        if isinstance(value, bool):
            return ua.Variant(value, vtype)
    elif vtype in _INT_VARIANTS:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            low, high = _INT_RANGES[vtype]
            if not low <= value <= high:
                raise ValueError(f"{value} is outside {vtype.name} ({low}..{high})")
            return ua.Variant(value, vtype)
    elif vtype in _FLOAT_VARIANTS:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return ua.Variant(float(value), vtype)
    elif vtype == ua.VariantType.String:
        if isinstance(value, str):
            return ua.Variant(value, vtype)
    elif vtype == ua.VariantType.LocalizedText:
        if isinstance(value, str):
            return ua.Variant(ua.LocalizedText(value), vtype)
    raise ValueError(f"{type(value).__name__} {_show(value)} does not fit {vtype.name}")


def quality_of(status: ua.StatusCode | None) -> str:
    """good / uncertain / bad from the severity bits of a status code."""
    if status is None:
        return "good"
    severity = status.value >> 30
    return "good" if severity == 0 else "uncertain" if severity == 1 else "bad"


def status_name(status: ua.StatusCode) -> str:
    """The symbolic name of a status code, without the info bits (e.g. ``BadSensorFailure``)."""
    return ua.StatusCode(status.value & 0xFFFF0000).name  # unknown codes give plain Bad / Uncertain


def status_for_quality(q: str) -> ua.StatusCode:
    if q == "good":
        return ua.StatusCode(ua.StatusCodes.Good)
    if q == "uncertain":
        return ua.StatusCode(ua.StatusCodes.Uncertain)
    return ua.StatusCode(ua.StatusCodes.Bad)


def ms_of(dt: datetime | None) -> int | None:
    """Epoch milliseconds of an OPC UA timestamp (None, or the 1601 "unset" value, give None)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if dt.year < 1971:
        return None
    return (dt - EPOCH) // timedelta(milliseconds=1)


def datetime_of(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


_NOT_ID = re.compile(r"[^a-z0-9_-]+")


def sanitise_id(name: str) -> str:
    """A tag id (``[a-z0-9_-]``) from a browse name: ``Spindle Speed`` → ``spindle_speed``."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name.strip())  # camelCase → camel_case
    return _NOT_ID.sub("_", text.lower()).strip("_-")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
