"""Sparkplug B over MQTT -> points (pure decoding with per-edge-node state; no I/O).

Topics: ``spBv1.0/<group_id>/<NBIRTH|NDATA|NDEATH|DBIRTH|DDATA|DDEATH>/<edge_node_id>[/<device_id>]``;
payloads are the Eclipse Tahu protobuf ``Payload``. A birth declares each metric's name, alias and
datatype (and current value); data messages then name metrics by name or alias. A death marks every
tag of the node (NDEATH) or device (DDEATH) bad quality at its last value. Sequence numbers (0..255,
wrapping) are checked per edge node and gaps counted. When a node's data cannot be read without a birth
that was missed (it came before the platform listened, an alias is unknown, a sequence number is missing),
``Decoded.rebirth`` says so and the connector asks the node to rebirth (NCMD ``Node Control/Rebirth``).

Metric -> tag: an explicit mapping ``(group_id, edge_node_id, device_id | None, metric name) -> tag path``
wins; otherwise ``<prefix>/<metric name>`` (the metric name's '/' kept), where the prefix may use the
placeholders ``{group_id}``, ``{edge_node_id}`` and ``{device_id}`` (empty levels are dropped).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from zhizao.connect.mqtt import sparkplug_b_pb2 as pb
from zhizao.connect.mqtt.uns import ItemError, Parsed
from zhizao.store.historian import Point, Value

NAMESPACE = "spBv1.0"
CAUSES = ("malformed_protobuf", "unknown_alias", "unknown_tag", "unsupported_type", "non_finite", "oversized",
          "unknown_topic")
DATA_TYPES = ("NBIRTH", "NDATA", "NDEATH", "DBIRTH", "DDATA", "DDEATH")
IGNORED_TYPES = ("NCMD", "DCMD", "STATE")  # commands to nodes and host state: not plant data
# Protocol metrics, not plant data: never mapped to tags.
CONTROL_PREFIXES = ("Node Control/", "Device Control/")
BD_SEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"

MappingKey = tuple[str, str, str | None, str]  # (group_id, edge_node_id, device_id or None, metric name)

_SIGNED_BITS = {pb.Int8: 8, pb.Int16: 16, pb.Int32: 32, pb.Int64: 64}
_STRING_TYPES = (pb.String, pb.Text, pb.UUID)


@dataclass(frozen=True, slots=True)
class SparkplugTopic:
    group_id: str
    message_type: str
    edge_node_id: str
    device_id: str | None = None


def parse_topic(topic: str) -> SparkplugTopic | None:
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != NAMESPACE or not all(parts):
        return None
    if parts[1] == "STATE":  # spBv1.0/STATE/<host id>
        return SparkplugTopic("", "STATE", parts[2]) if len(parts) == 3 else None
    if len(parts) not in (4, 5) or parts[2] not in DATA_TYPES + IGNORED_TYPES:
        return None
    device = parts[4] if len(parts) == 5 else None
    if (device is None) != parts[2].startswith("N"):
        return None  # node messages have no device level, device messages need one
    return SparkplugTopic(parts[1], parts[2], parts[3], device)


def decode_value(metric: Any, datatype: int) -> tuple[Value | None, str]:
    """(value, "") of a metric, (None, "") when it has none (null), or (None, cause)."""
    if metric.is_null:
        return None, ""
    which = metric.WhichOneof("value")
    if which is None:
        return None, ""
    if which in ("int_value", "long_value"):
        v = getattr(metric, which)
        bits = _SIGNED_BITS.get(datatype)
        if bits is not None:
            # Signed integers travel as unsigned: sign-extended to 32 bits (Tahu Java) or to their own width
            # (Tahu Python); either way the two's complement is undone here.
            width = 64 if which == "long_value" else 32
            if v >= 1 << (width - 1):
                v -= 1 << width
            elif bits < width and 1 << (bits - 1) <= v < 1 << bits:
                v -= 1 << bits
        return v, ""
    if which in ("float_value", "double_value"):
        v = getattr(metric, which)
        return (v, "") if math.isfinite(v) else (None, "non_finite")
    if which == "boolean_value":
        return metric.boolean_value, ""
    if which == "string_value":
        return metric.string_value, ""
    return None, "unsupported_type"  # bytes, file, dataset, template, extension


def command_topic(group_id: str, edge_node_id: str) -> str:
    return f"{NAMESPACE}/{group_id}/NCMD/{edge_node_id}"


def rebirth_request(now_ms: int) -> bytes:
    """The NCMD payload asking an edge node to publish its births again (``Node Control/Rebirth`` = true)."""
    payload = pb.Payload(timestamp=now_ms)
    payload.metrics.add(name=REBIRTH, timestamp=now_ms, datatype=pb.Boolean, boolean_value=True)
    return payload.SerializeToString()


@dataclass
class _Metric:
    name: str
    device: str | None
    datatype: int
    tag: str
    mapped: bool  # the tag exists in the plant
    last: Value | None = None


@dataclass
class _Node:
    bd_seq: int | None = None
    seq: int | None = None
    metrics: dict[tuple[str | None, str], _Metric] = field(default_factory=dict)  # (device, name)
    aliases: dict[int, _Metric] = field(default_factory=dict)  # unique per edge node, devices included


@dataclass(slots=True)
class Decoded(Parsed):
    gaps: int = 0  # sequence number gaps seen in this message (0 or 1)
    stale_death: bool = False  # an NDEATH whose bdSeq is not the current session's: ignored
    rebirth: bool = False  # the node's birth is missing or out of date: ask it for a new one


class SparkplugDecoder:
    """Decodes the Sparkplug B messages of any number of edge nodes, keeping their birth tables."""

    def __init__(self, prefix: str = "", mappings: Mapping[MappingKey, str] | None = None,
                 is_tag: Callable[[str], bool] | None = None, max_bytes: int | None = None) -> None:
        self.prefix = prefix.strip("/")
        self.mappings = dict(mappings or {})
        self.is_tag = is_tag
        self.max_bytes = max_bytes
        self.nodes: dict[tuple[str, str], _Node] = {}

    def tag_for(self, group_id: str, node_id: str, device_id: str | None, name: str) -> str:
        tag = self.mappings.get((group_id, node_id, device_id, name))
        if tag is not None:
            return tag
        prefix = (self.prefix.replace("{group_id}", group_id).replace("{edge_node_id}", node_id)
                  .replace("{device_id}", device_id or ""))
        return "/".join(level for level in f"{prefix}/{name}".split("/") if level)

    def decode(self, topic: str, payload: bytes, now_ms: int) -> Decoded:
        out = Decoded()
        if self.max_bytes is not None and len(payload) > self.max_bytes:
            out.errors.append(ItemError("oversized", {"topic": topic, "size": len(payload), "max": self.max_bytes},
                                        payload))
            return out
        st = parse_topic(topic)
        if st is None:
            out.errors.append(ItemError("unknown_topic", {"topic": topic, "root": NAMESPACE}, payload))
            return out
        if st.message_type in IGNORED_TYPES:
            return out
        try:
            msg = pb.Payload.FromString(payload)
        except (DecodeError, RuntimeError, ValueError) as exc:
            out.errors.append(ItemError("malformed_protobuf", {"topic": topic, "error": str(exc)[:80]}, payload))
            return out
        key = (st.group_id, st.edge_node_id)
        kind = st.message_type
        if kind == "NDEATH":
            self._node_death(key, msg, now_ms, out)
            return out
        node = self.nodes.get(key)
        if kind == "NBIRTH" or node is None:
            out.rebirth = kind != "NBIRTH"  # a node whose birth was not seen (sent before we listened)
            node = self.nodes[key] = _Node()
        elif msg.HasField("seq") and node.seq is not None and msg.seq != (node.seq + 1) % 256:
            out.gaps, out.rebirth = 1, True
        if msg.HasField("seq"):
            node.seq = msg.seq
        ts = msg.timestamp if msg.HasField("timestamp") else now_ms
        if kind == "DDEATH":
            self._mark_bad(node, st.device_id, ts, out)
            return out
        birth = kind.endswith("BIRTH")
        if kind == "DBIRTH":  # a device's rebirth replaces its metrics and aliases
            for mkey in [k for k in node.metrics if k[0] == st.device_id]:
                node.metrics.pop(mkey)
            node.aliases = {a: m for a, m in node.aliases.items() if m.device != st.device_id}
        for i, metric in enumerate(msg.metrics):
            self._metric(st, node, metric, i, birth, ts, topic, out)
        return out

    def _metric(self, st: SparkplugTopic, node: _Node, metric: Any, index: int, birth: bool, ts: int,
                topic: str, out: Decoded) -> None:
        where = f"{topic} metric {index}"
        known: _Metric | None = None
        if metric.HasField("name") and metric.name:
            name = metric.name
            known = node.metrics.get((st.device_id, name))
        elif metric.HasField("alias"):
            known = node.aliases.get(metric.alias)
            if known is None or known.device != st.device_id:
                out.errors.append(ItemError("unknown_alias", {"where": where, "alias": metric.alias},
                                            {"topic": topic, "alias": metric.alias}))
                out.rebirth = True
                return
            name = known.name
        else:
            out.errors.append(ItemError("unknown_alias", {"where": where, "alias": "-"}, {"topic": topic}))
            return
        if birth and st.message_type == "NBIRTH" and name == BD_SEQ:
            node.bd_seq = metric.long_value if metric.WhichOneof("value") == "long_value" else metric.int_value
        if name == BD_SEQ or name.startswith(CONTROL_PREFIXES):
            return
        if known is None:
            datatype = metric.datatype if metric.HasField("datatype") else pb.Unknown
            tag = self.tag_for(st.group_id, st.edge_node_id, st.device_id, name)
            known = _Metric(name, st.device_id, datatype, tag, self.is_tag is None or self.is_tag(tag))
            if birth:  # data without a birth is decoded but not remembered
                node.metrics[(st.device_id, name)] = known
                if metric.HasField("alias"):
                    node.aliases[metric.alias] = known
        datatype = metric.datatype if metric.HasField("datatype") else known.datatype
        value, cause = decode_value(metric, datatype)
        if cause:
            which = metric.WhichOneof("value") or "-"
            shown = repr(getattr(metric, which)) if cause == "non_finite" else which
            out.errors.append(ItemError(cause, {"where": where, "value": shown}, {"topic": topic, "metric": name}))
            return
        if not known.mapped and self.is_tag is not None:
            known.mapped = self.is_tag(known.tag)  # the plant may have gained the tag since the birth
        if not known.mapped:
            out.errors.append(ItemError("unknown_tag", {"where": where, "metric": name, "tag": known.tag},
                                        {"topic": topic, "metric": name}))
            return
        mts = metric.timestamp if metric.HasField("timestamp") else ts
        if value is None:  # null: the value is unknown now, so the last one is marked bad
            if known.last is not None:
                out.points.append(Point(known.tag, mts, known.last, "bad"))
            return
        known.last = value
        out.points.append(Point(known.tag, mts, value, "good"))

    def _node_death(self, key: tuple[str, str], msg: Any, now_ms: int, out: Decoded) -> None:
        node = self.nodes.get(key)
        if node is None:
            return
        bd_seq = next((m.long_value if m.WhichOneof("value") == "long_value" else m.int_value
                       for m in msg.metrics if m.name == BD_SEQ), None)
        if bd_seq is not None and node.bd_seq is not None and bd_seq != node.bd_seq:
            out.stale_death = True  # the will of an earlier session, delivered late
            return
        # The will message was registered when the node connected: its timestamp is old, so "now" it is.
        self._mark_bad(node, None, now_ms, out, whole_node=True)
        node.seq = None

    @staticmethod
    def _mark_bad(node: _Node, device: str | None, ts: int, out: Decoded, whole_node: bool = False) -> None:
        for metric in node.metrics.values():
            if (whole_node or metric.device == device) and metric.mapped and metric.last is not None:
                out.points.append(Point(metric.tag, ts, metric.last, "bad"))
