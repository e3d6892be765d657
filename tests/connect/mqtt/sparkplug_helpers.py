"""Real Sparkplug B protobuf payloads for tests (encoded with the committed sparkplug_b_pb2)."""

from __future__ import annotations

from typing import Any

from zhizao.connect.mqtt import sparkplug_b_pb2 as pb


def metric(name: str | None = None, alias: int | None = None, datatype: int | None = None, value: Any = None,
           field: str | None = None, **extra: Any) -> dict:
    """A metric; ``field`` names the value field (default: from the Python type of ``value``)."""
    m: dict[str, Any] = {k: v for k, v in (("name", name), ("alias", alias), ("datatype", datatype))
                         if v is not None}
    if value is not None:
        if field is None:
            field = ("boolean_value" if isinstance(value, bool) else "long_value" if isinstance(value, int)
                     else "double_value" if isinstance(value, float) else "string_value")
        m[field] = value
    return {**m, **extra}


def payload(metrics: list[dict] | tuple = (), seq: int | None = None, ts: int | None = None) -> bytes:
    p = pb.Payload()
    if seq is not None:
        p.seq = seq
    if ts is not None:
        p.timestamp = ts
    for m in metrics:
        pm = p.metrics.add()
        for key, value in m.items():
            setattr(pm, key, value)
    return p.SerializeToString()


def topic(group: str, kind: str, node: str, device: str | None = None) -> str:
    return "/".join(["spBv1.0", group, kind, node] + ([device] if device else []))
