"""Sparkplug B decoding: births, data by name and alias, nulls, deaths, sequence gaps, mapping, bad input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.connect.mqtt.sparkplug_helpers import metric, payload, topic

from zhizao.connect.mqtt import sparkplug_b_pb2 as pb
from zhizao.connect.mqtt.sparkplug import (
    CAUSES,
    SparkplugDecoder,
    SparkplugTopic,
    command_topic,
    parse_topic,
    rebirth_request,
)
from zhizao.store.historian import Point

PREFIX = "acme/s1/a1/l1/c1"
T0 = 1_767_225_600_000
NOW = T0 + 3_600_000
TAGS = {f"{PREFIX}/m1/temp", f"{PREFIX}/m1/count", f"{PREFIX}/m1/running", f"{PREFIX}/m1/state",
        f"{PREFIX}/m2/speed", f"{PREFIX}/m2/pressure", f"{PREFIX}/m2/offset", f"{PREFIX}/m2/big"}


def decoder(**kw) -> SparkplugDecoder:
    return SparkplugDecoder(kw.pop("prefix", PREFIX), kw.pop("mappings", None), TAGS.__contains__, **kw)


def node_birth(seq: int = 0, bd_seq: int = 7) -> bytes:
    return payload([
        metric("bdSeq", value=bd_seq, datatype=pb.Int64),
        metric("Node Control/Rebirth", alias=99, datatype=pb.Boolean, value=False),
        metric("m1/temp", alias=1, datatype=pb.Double, value=20.5),
        metric("m1/count", alias=2, datatype=pb.Int32, value=5, field="int_value"),
        metric("m1/running", alias=3, datatype=pb.Boolean, value=True),
        metric("m1/state", alias=4, datatype=pb.String, value="idle"),
        metric("m1/vibration", alias=5, datatype=pb.Float, value=0.5, field="float_value"),  # not a plant tag
    ], seq=seq, ts=T0)


def device_birth(seq: int) -> bytes:
    return payload([metric("speed", alias=10, datatype=pb.Float, value=1.5, field="float_value"),
                    metric("pressure", alias=11, datatype=pb.Double, value=2.0)], seq=seq, ts=T0)


def test_parse_topic():
    assert parse_topic("spBv1.0/g1/NDATA/n1") == SparkplugTopic("g1", "NDATA", "n1")
    assert parse_topic("spBv1.0/g1/DDATA/n1/d1") == SparkplugTopic("g1", "DDATA", "n1", "d1")
    assert parse_topic("spBv1.0/STATE/host1") == SparkplugTopic("", "STATE", "host1")
    for bad in ("spBv1.0/g1/NDATA/n1/d1", "spBv1.0/g1/DDATA/n1", "spBv1.0/g1/XDATA/n1", "spAv1.0/g1/NDATA/n1",
                "spBv1.0/g1/NDATA", "spBv1.0//NDATA/n1", "uns/a/b"):
        assert parse_topic(bad) is None, bad


def test_birth_data_by_alias_and_name():
    d = decoder()
    out = d.decode(topic("g1", "NBIRTH", "m"), node_birth(), NOW)
    assert out.points == [Point(f"{PREFIX}/m1/temp", T0, 20.5, "good"), Point(f"{PREFIX}/m1/count", T0, 5, "good"),
                          Point(f"{PREFIX}/m1/running", T0, True, "good"),
                          Point(f"{PREFIX}/m1/state", T0, "idle", "good")]
    # bdSeq and Node Control/* are protocol metrics; m1/vibration is not a tag of the plant.
    assert [(e.cause, e.params["metric"]) for e in out.errors] == [("unknown_tag", "m1/vibration")]
    assert f"'{PREFIX}/m1/vibration'" in out.errors[0].detail()
    out = d.decode(topic("g1", "NDATA", "m"), payload([
        metric(alias=1, value=21.0, timestamp=T0 + 5),          # by alias, own timestamp
        metric("m1/count", value=6, field="int_value"),         # by name
        metric(alias=4, value="running"),
        metric(alias=5, value=0.7, field="float_value"),        # still unmapped
    ], seq=1, ts=T0 + 10), NOW)
    assert out.points == [Point(f"{PREFIX}/m1/temp", T0 + 5, 21.0, "good"),
                          Point(f"{PREFIX}/m1/count", T0 + 10, 6, "good"),
                          Point(f"{PREFIX}/m1/state", T0 + 10, "running", "good")]
    assert [e.cause for e in out.errors] == ["unknown_tag"] and out.gaps == 0


def test_datatypes_and_signed_integers():
    d = decoder(prefix=f"{PREFIX}/m2")
    birth = payload([metric("offset", alias=1, datatype=pb.Int8), metric("big", alias=2, datatype=pb.Int64),
                     metric("speed", alias=3, datatype=pb.Float), metric("pressure", alias=4, datatype=pb.UInt32)],
                    seq=0, ts=T0)
    assert d.decode(topic("g", "NBIRTH", "n"), birth, NOW).points == []  # declared without values
    data = payload([metric(alias=1, value=0xFFFFFFFF, field="int_value", timestamp=T0 + 1),  # Int8 -1, Java style
                    metric(alias=1, value=0xFE, field="int_value", timestamp=T0 + 2),        # Int8 -2, Python style
                    metric(alias=1, value=100, field="int_value", timestamp=T0 + 3),
                    metric(alias=2, value=2**64 - 5, timestamp=T0 + 4),                      # Int64 -5
                    metric(alias=3, value=1.1, field="float_value", timestamp=T0 + 5),       # float32
                    metric(alias=4, value=0xFFFFFFFF, field="int_value", timestamp=T0 + 6)],  # UInt32 stays
                   seq=1, ts=T0)
    out = d.decode(topic("g", "NDATA", "n"), data, NOW)
    assert out.errors == []
    assert [p.v for p in out.points] == [-1, -2, 100, -5, struct.unpack("f", struct.pack("f", 1.1))[0], 0xFFFFFFFF]


def test_null_marks_last_value_bad_and_bad_values_are_errors():
    d = decoder()
    d.decode(topic("g", "NBIRTH", "m"), node_birth(), NOW)
    out = d.decode(topic("g", "NDATA", "m"), payload([
        metric(alias=1, is_null=True, timestamp=T0 + 1),
        metric(alias=2, bytes_value=b"\x01"),
        metric(alias=1, value=float("inf"), timestamp=T0 + 2),
        metric(alias=42, value=1.0),
    ], seq=1, ts=T0), NOW)
    assert out.points == [Point(f"{PREFIX}/m1/temp", T0 + 1, 20.5, "bad")]
    assert [e.cause for e in out.errors] == ["unsupported_type", "non_finite", "unknown_alias"]


def test_sequence_gaps_and_wrap():
    d = decoder()
    d.decode(topic("g", "NBIRTH", "m"), node_birth(seq=254), NOW)
    assert d.decode(topic("g", "NDATA", "m"), payload([], seq=255), NOW).gaps == 0
    assert d.decode(topic("g", "NDATA", "m"), payload([], seq=0), NOW).gaps == 0  # wraps at 256
    assert d.decode(topic("g", "NDATA", "m"), payload([], seq=3), NOW).gaps == 1
    assert d.decode(topic("g", "NDATA", "m"), payload([], seq=4), NOW).gaps == 0
    # A rebirth starts the count again.
    d.decode(topic("g", "NBIRTH", "m"), node_birth(seq=0), NOW)
    assert d.decode(topic("g", "NDATA", "m"), payload([], seq=1), NOW).gaps == 0


def test_devices_deaths_and_stale_death():
    d = decoder(prefix=PREFIX + "/{device_id}")
    mapped = {("g", "n", None, "temperature"): f"{PREFIX}/m1/temp"}
    d.mappings.update(mapped)
    d.decode(topic("g", "NBIRTH", "n"), payload([metric("bdSeq", value=3), metric("temperature", alias=1,
                                                                                   datatype=pb.Double, value=30.0)],
                                                 seq=0, ts=T0), NOW)
    out = d.decode(topic("g", "DBIRTH", "n", "m2"), device_birth(seq=1), NOW)
    assert out.points == [Point(f"{PREFIX}/m2/speed", T0, 1.5, "good"), Point(f"{PREFIX}/m2/pressure", T0, 2.0, "good")]
    out = d.decode(topic("g", "DDATA", "n", "m2"), payload([metric(alias=11, value=2.5)], seq=2, ts=T0 + 1), NOW)
    assert out.points == [Point(f"{PREFIX}/m2/pressure", T0 + 1, 2.5, "good")]
    # A node alias used on a device topic does not resolve.
    assert [e.cause for e in d.decode(topic("g", "DDATA", "n", "m2"), payload([metric(alias=1, value=1.0)], seq=3),
                                      NOW).errors] == ["unknown_alias"]
    out = d.decode(topic("g", "DDEATH", "n", "m2"), payload([], seq=4, ts=T0 + 2), NOW)
    assert sorted(out.points, key=lambda p: p.tag) == [Point(f"{PREFIX}/m2/pressure", T0 + 2, 2.5, "bad"),
                                                       Point(f"{PREFIX}/m2/speed", T0 + 2, 1.5, "bad")]
    stale = d.decode(topic("g", "NDEATH", "n"), payload([metric("bdSeq", value=2)]), NOW)
    assert stale.stale_death and stale.points == []
    out = d.decode(topic("g", "NDEATH", "n"), payload([metric("bdSeq", value=3)]), NOW)
    assert not out.stale_death
    assert sorted(out.points, key=lambda p: p.tag) == [Point(f"{PREFIX}/m1/temp", NOW, 30.0, "bad"),
                                                       Point(f"{PREFIX}/m2/pressure", NOW, 2.5, "bad"),
                                                       Point(f"{PREFIX}/m2/speed", NOW, 1.5, "bad")]


def test_data_without_birth():
    d = decoder()
    out = d.decode(topic("g", "NDATA", "m"), payload([metric("m1/temp", value=1.0), metric(alias=1, value=2.0)],
                                                     seq=5, ts=T0), NOW)
    assert out.points == [Point(f"{PREFIX}/m1/temp", T0, 1.0, "good")]
    assert [e.cause for e in out.errors] == ["unknown_alias"]
    # Nothing was learnt from it: a death of a node that never was born marks nothing.
    assert d.decode(topic("g", "NDEATH", "m"), payload([]), NOW).points == []


def test_tag_for_mapping_and_prefix():
    d = SparkplugDecoder("plant/{group_id}/{edge_node_id}/{device_id}", {("g", "n", "d", "Speed"): "x/y/z"})
    assert d.tag_for("g", "n", "d", "Speed") == "x/y/z"
    assert d.tag_for("g", "n", "d", "a/b") == "plant/g/n/d/a/b"
    assert d.tag_for("g", "n", None, "a/b") == "plant/g/n/a/b"


@pytest.mark.parametrize(("message_topic", "data", "cause"), [
    ("spBv1.0/g/NDATA/n", b"\xff\xff\xff", "malformed_protobuf"),
    ("spBv1.0/g/NDATA", payload([]), "unknown_topic"),
    ("spBv1.0/g/NDATA/n", payload([metric("m1/temp", value=1.0)] * 50), "oversized"),
])
def test_whole_message_errors(message_topic, data, cause):
    out = decoder(max_bytes=200).decode(message_topic, data, NOW)
    assert [e.cause for e in out.errors] == [cause] and out.points == []


def test_commands_and_state_are_ignored():
    d = decoder()
    for t in ("spBv1.0/g/NCMD/n", "spBv1.0/g/DCMD/n/d", "spBv1.0/STATE/host"):
        out = d.decode(t, b"not even protobuf", NOW)
        assert out.points == [] and out.errors == []


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["NBIRTH", "NDATA", "DBIRTH", "DDATA", "NDEATH", "DDEATH"]), st.binary(max_size=200))
def test_arbitrary_bytes_never_raise(kind, data):
    d = decoder()
    d.decode(topic("g", "NBIRTH", "m"), node_birth(), NOW)
    out = d.decode(topic("g", kind, "m", "d" if kind.startswith("D") else None), data, NOW)
    assert all(e.cause in CAUSES for e in out.errors)


def test_rebirth_is_wanted_when_the_birth_is_missing():
    d = decoder()
    assert d.decode(topic("g", "NDATA", "m"), payload([metric("m1/temp", value=1.0)], seq=3), NOW).rebirth
    d.decode(topic("g", "NBIRTH", "m"), node_birth(), NOW)
    assert not d.decode(topic("g", "NDATA", "m"), payload([metric(alias=1, value=1.0)], seq=1), NOW).rebirth
    assert d.decode(topic("g", "NDATA", "m"), payload([metric(alias=1, value=1.0)], seq=5), NOW).rebirth  # gap
    assert d.decode(topic("g", "NDATA", "m"), payload([metric(alias=50, value=1.0)], seq=6), NOW).rebirth
    request = pb.Payload.FromString(rebirth_request(NOW))
    assert [(m.name, m.datatype, m.boolean_value) for m in request.metrics] == [
        ("Node Control/Rebirth", pb.Boolean, True)]
    assert command_topic("g", "m") == "spBv1.0/g/NCMD/m"
