import asyncio

import pytest

from zhizao.bus import Bus, topic_matches


@pytest.mark.parametrize(
    ("pattern", "topic", "expected"),
    [
        ("a/b/c", "a/b/c", True),
        ("a/b/c", "a/b", False),
        ("a/+/c", "a/x/c", True),
        ("a/+/c", "a/x/y/c", False),
        ("a/#", "a", True),  # '#' also matches the parent level (MQTT 4.7.1.2)
        ("a/#", "a/b/c/d", True),
        ("#", "anything/at/all", True),
        ("+/+", "a/b", True),
        ("+/+", "a/b/c", False),
        ("a/b/#", "a/c/d", False),
    ],
)
def test_wildcards(pattern, topic, expected):
    assert topic_matches(pattern, topic) is expected


def test_invalid_filters_and_topics_are_refused():
    bus = Bus()
    for bad in ("a/#/b", "a/b#", "a/x+"):
        with pytest.raises(ValueError):
            bus.subscribe(bad)
    with pytest.raises(ValueError):
        bus.publish("a/+/b", {})


async def test_subscription_receives_matching_messages_in_order():
    bus = Bus()
    sub = bus.subscribe("plant/+/temp")
    everything = bus.subscribe("#")
    for i in range(5):
        bus.publish(f"plant/m{i}/temp", {"v": i})
        bus.publish(f"plant/m{i}/speed", {"v": i})
    got = [await asyncio.wait_for(sub.get(), 1) for _ in range(5)]
    assert [m.payload["v"] for m in got] == [0, 1, 2, 3, 4]
    assert sub.queue.empty()
    assert len(everything.drain()) == 10


async def test_async_iteration_and_close():
    bus = Bus()
    sub = bus.subscribe("x/#")

    async def consume():
        return [msg.topic async for msg in _take(sub, 3)]

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    for t in ("x/1", "y/1", "x/2", "x/3"):
        bus.publish(t, None)
    assert await asyncio.wait_for(task, 1) == ["x/1", "x/2", "x/3"]
    sub.close()
    bus.publish("x/4", None)
    assert sub.queue.empty()


async def _take(sub, n):
    async for msg in sub:
        yield msg
        n -= 1
        if n == 0:
            return


def test_full_queue_drops_oldest_and_counts():
    bus = Bus()
    sub = bus.subscribe("t", maxsize=3)
    for i in range(5):
        bus.publish("t", i)
    assert sub.dropped == 2
    assert [m.payload for m in sub.drain()] == [2, 3, 4]


def test_handlers_run_inline_and_a_failing_handler_does_not_break_publishing():
    bus = Bus()
    seen = []

    def boom(msg):
        raise RuntimeError("faulty app")

    off = bus.on("a/#", seen.append)
    bus.on("a/#", boom)
    bus.publish("a/b", 1)
    bus.publish("a/c", 2, origin="historian")
    assert [(m.topic, m.payload) for m in seen] == [("a/b", 1), ("a/c", 2)]
    assert seen[1].origin == "historian"
    assert bus.handler_errors == 2
    off()
    bus.publish("a/d", 3)
    assert len(seen) == 2


def test_route_cache_is_refreshed_when_subscriptions_change():
    bus = Bus()
    bus.publish("a/b", 1)  # caches an empty route
    sub = bus.subscribe("a/+")
    bus.publish("a/b", 2)
    assert [m.payload for m in sub.drain()] == [2]
