"""UNS JSON parsing: topics, payload shapes, every bad-input cause, and properties over arbitrary input."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from zhizao.connect.mqtt.uns import CAUSES, parse_ts, parse_uns, topic_tag
from zhizao.core.i18n import catalogue
from zhizao.store.historian import Point

TAG = "acme/s1/a1/l1/c1/m1/temp"
TOPIC = f"plant/{TAG}"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def parse(payload, topic: str = TOPIC, **kw):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_uns(topic, data, root="plant", **kw)


def causes(parsed) -> list[str]:
    return [e.cause for e in parsed.errors]


def test_single_object_epoch_ms():
    out = parse({"ts": T0, "v": 21.5})
    assert out.points == [Point(TAG, T0, 21.5, "good")] and out.errors == []


def test_array_iso_timestamps_quality_and_types():
    out = parse([{"ts": "2026-01-01T00:00:00Z", "v": 1, "q": "uncertain"},
                 {"ts": "2026-01-01T08:00:00.250+08:00", "v": True},
                 {"ts": "2026-01-01T00:00:01", "v": "running", "q": "bad"},
                 {"ts": T0 + 0.9, "v": -3.5}])
    assert out.errors == []
    assert out.points == [Point(TAG, T0, 1, "uncertain"), Point(TAG, T0 + 250, True, "good"),
                          Point(TAG, T0 + 1000, "running", "bad"), Point(TAG, T0, -3.5, "good")]


def test_root_prefix_and_topics():
    assert topic_tag("plant/a/b", "plant") == "a/b"
    assert topic_tag("plant/a/b", "plant/") == "a/b"
    assert topic_tag("a/b", "") == "a/b"
    assert topic_tag("other/a/b", "plant") is None
    assert topic_tag("plant", "plant") is None
    assert topic_tag("plant/a//b", "plant") is None
    assert causes(parse({"ts": T0, "v": 1}, topic="other/acme/x")) == ["unknown_topic"]
    assert causes(parse({"ts": T0, "v": 1}, topic="plant/Acme/Temp")) == ["unknown_topic"]  # not a UNS path
    # With the plant's tag names, an unknown tag under the root is an unknown topic too.
    known = {TAG}.__contains__
    assert causes(parse({"ts": T0, "v": 1}, topic="plant/acme/s1/a1/l1/c1/m1/nope", is_tag=known)) == [
        "unknown_topic"]
    assert parse({"ts": T0, "v": 1}, is_tag=known).points == [Point(TAG, T0, 1, "good")]


def test_each_bad_input_cause_keeps_the_good_items():
    items = [
        {"ts": T0, "v": 1.0},                       # good
        42,                                          # not_an_object
        {"v": 1.0},                                  # missing_field ts
        {"ts": T0},                                  # missing_field v
        {"ts": "yesterday", "v": 1.0},               # bad_timestamp
        {"ts": True, "v": 1.0},                      # bad_timestamp (bool is not a time)
        {"ts": 10**20, "v": 1.0},                    # bad_timestamp (beyond year 9999)
        {"ts": T0, "v": {"x": 1}},                   # wrong_type
        {"ts": T0, "v": None},                       # wrong_type
        {"ts": T0, "v": 1.0, "q": "excellent"},      # bad_quality
        {"ts": T0 + 1, "v": 2.0},                    # good
    ]
    text = json.dumps(items)[:-1] + ', {"ts": 1, "v": NaN}, {"ts": 1, "v": -Infinity}, {"ts": 1, "v": 1e999}]'
    out = parse(text.encode())
    assert out.points == [Point(TAG, T0, 1.0, "good"), Point(TAG, T0 + 1, 2.0, "good")]
    assert causes(out) == ["not_an_object", "missing_field", "missing_field", "bad_timestamp", "bad_timestamp",
                           "bad_timestamp", "wrong_type", "wrong_type", "bad_quality", "non_finite", "non_finite",
                           "non_finite"]
    details = [e.detail() for e in out.errors]
    assert details[0] == f"{TOPIC}[1]: expected a JSON object {{\"ts\", \"v\", \"q\"}}, got int"
    assert details[1] == f"{TOPIC}[2]: missing field 'ts'" and details[2] == f"{TOPIC}[3]: missing field 'v'"
    assert "'yesterday'" in details[3] and "q 'excellent'" in details[8]
    assert out.errors[1].item == {"v": 1.0}


def test_whole_message_causes():
    assert causes(parse(b"{not json")) == ["malformed_json"]
    assert causes(parse(b"\xff\xfe\x00garbage")) == ["malformed_json"]
    assert causes(parse(b"[" * 100_000)) == ["malformed_json"]  # too deep: not a crash
    assert causes(parse(b"1" * 5000)) == ["malformed_json"]  # more digits than Python converts
    assert causes(parse("just a string")) == ["not_an_object"]
    assert causes(parse([[{"ts": T0, "v": 1}]])) == ["not_an_object"]  # arrays do not nest
    big = json.dumps([{"ts": T0, "v": 1.0}] * 100).encode()
    out = parse(big, max_bytes=len(big) - 1)
    assert causes(out) == ["oversized"] and out.points == []
    assert "larger than max_payload_bytes" in out.errors[0].detail()
    assert len(parse(big, max_bytes=len(big)).points) == 100
    assert parse([]).points == [] and parse([]).errors == []


def test_int_values_beyond_double_are_non_finite():
    out = parse(b'{"ts": 1767225600000, "v": ' + b"9" * 400 + b"}")
    assert causes(out) == ["non_finite"]


def test_parse_ts():
    assert parse_ts(T0) == T0
    assert parse_ts("2026-01-01T00:00:00Z") == T0
    assert parse_ts("2026-01-01") == T0
    assert parse_ts("2026-01-01T08:00:00+08:00") == T0
    assert parse_ts(float("nan")) is None and parse_ts(None) is None and parse_ts([T0]) is None
    assert parse_ts("2026-13-01T00:00:00Z") is None


def test_every_cause_is_catalogued():
    for lang in ("en", "zh-CN"):
        for cause in CAUSES:
            assert f"mqtt.err.{cause}" in catalogue(lang) and f"mqtt.cause.{cause}" in catalogue(lang)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data):
    out = parse_uns(TOPIC, data, root="plant", max_bytes=200)
    assert all(e.cause in CAUSES for e in out.errors)
    assert all(isinstance(p, Point) and p.tag == TAG for p in out.points)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                               st.sampled_from(["ts", "v", "q", "x"]), inner, max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_never_raises_and_every_item_is_accounted_for(doc):
    out = parse_uns(TOPIC, json.dumps(doc).encode(), root="plant")
    items = len(doc) if isinstance(doc, list) else 1
    assert len(out.points) + len(out.errors) == items
    for p in out.points:
        assert isinstance(p.ts, int) and p.q in ("good", "bad", "uncertain")
        assert not (isinstance(p.v, float) and not math.isfinite(p.v))


item_strategy = st.fixed_dictionaries(
    {"ts": st.integers(946_684_800_000, 4_102_444_800_000),
     "v": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**53), 2**53), st.booleans(),
                    st.text(max_size=20))},
    optional={"q": st.sampled_from(["good", "bad", "uncertain"])})


@settings(max_examples=200, deadline=None)
@given(st.lists(item_strategy, max_size=20), st.booleans(), st.booleans())
def test_valid_payloads_round_trip(items, as_iso, single):
    def encode(item: dict) -> dict:
        if not as_iso:
            return item
        seconds, ms = divmod(item["ts"], 1000)
        iso = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
        return {**item, "ts": iso}

    payload = encode(items[0]) if single and items else [encode(i) for i in items]
    out = parse_uns(TOPIC, json.dumps(payload).encode(), root="plant")
    expected = [Point(TAG, i["ts"], i["v"], i.get("q", "good")) for i in (items[:1] if single else items)]
    assert out.errors == [] and out.points == expected
