from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class Message:
    topic: str
    payload: Any
    # Who published it, when consumers must tell sources apart: points from the
    # ingest service carry origin "ingest" (the forwarder stores them), so the
    # historian writer skips them.
    origin: str | None = None


def validate_filter(pattern: str) -> None:
    levels = pattern.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise ValueError(f"topic filter {pattern!r}: '#' must be a whole, last level")
        if "+" in level and level != "+":
            raise ValueError(f"topic filter {pattern!r}: '+' must be a whole level")


def topic_matches(pattern: str, topic: str) -> bool:
    """MQTT topic-filter matching (``+`` one level, ``#`` the rest)."""
    p_levels = pattern.split("/")
    t_levels = topic.split("/")
    for i, p in enumerate(p_levels):
        if p == "#":
            return True
        if i >= len(t_levels):
            return False
        if p != "+" and p != t_levels[i]:
            return False
    return len(p_levels) == len(t_levels)


class Subscription:
    """A queue of messages matching one topic filter; iterate it with ``async for``.

    A full queue drops the oldest message and counts it in ``dropped`` so that a
    slow consumer can never block publishers (the simulator, connectors).
    """

    def __init__(self, bus: Bus, pattern: str, maxsize: int) -> None:
        self.bus = bus
        self.pattern = pattern
        self.queue: asyncio.Queue[Message] = asyncio.Queue(maxsize)
        self.dropped = 0

    def _put(self, msg: Message) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(msg)

    async def get(self) -> Message:
        return await self.queue.get()

    def drain(self, limit: int = 100_000) -> list[Message]:
        """Every queued message (up to ``limit``) without waiting."""
        out: list[Message] = []
        while len(out) < limit and not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out

    def close(self) -> None:
        self.bus._remove(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        return await self.queue.get()


Handler = Callable[[Message], None]


class Bus:
    """Async in-process publish/subscribe.

    ``publish`` is synchronous and never blocks, so it can be called from the
    simulator's SimPy processes and from request handlers alike. Handlers
    registered with ``on`` run inline in the publisher's call (keep them fast);
    ``subscribe`` returns a queue for an asyncio consumer.
    """

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._handlers: list[tuple[str, Handler]] = []
        self._route_cache: dict[str, tuple[list[Subscription], list[Handler]]] = {}
        self.published = 0
        self.handler_errors = 0

    def subscribe(self, pattern: str, maxsize: int = 100_000) -> Subscription:
        validate_filter(pattern)
        sub = Subscription(self, pattern, maxsize)
        self._subs.append(sub)
        self._route_cache.clear()
        return sub

    def on(self, pattern: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler(message)`` for each matching message; returns an unsubscribe function."""
        validate_filter(pattern)
        entry = (pattern, handler)
        self._handlers.append(entry)
        self._route_cache.clear()

        def off() -> None:
            if entry in self._handlers:
                self._handlers.remove(entry)
                self._route_cache.clear()

        return off

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)
            self._route_cache.clear()

    def _route(self, topic: str) -> tuple[list[Subscription], list[Handler]]:
        route = self._route_cache.get(topic)
        if route is None:
            route = (
                [s for s in self._subs if topic_matches(s.pattern, topic)],
                [h for p, h in self._handlers if topic_matches(p, topic)],
            )
            self._route_cache[topic] = route
        return route

    def has_listeners(self, topic: str) -> bool:
        """Whether anyone would receive a message on ``topic`` (lets hot paths skip building one)."""
        subs, handlers = self._route_cache.get(topic) or self._route(topic)
        return bool(subs or handlers)

    def publish(self, topic: str, payload: Any, origin: str | None = None) -> None:
        route = self._route_cache.get(topic)
        if route is None:  # the first message on a topic: check it once
            if not topic or "+" in topic or "#" in topic:
                raise ValueError(f"cannot publish to topic {topic!r}: wildcards are for filters only")
            route = self._route(topic)
        self.published += 1
        subs, handlers = route
        if not subs and not handlers:
            return
        msg = Message(topic, payload, origin)
        for sub in subs:
            sub._put(msg)
        for handler in handlers:
            try:
                handler(msg)
            except Exception:  # a faulty app must not break the publisher
                self.handler_errors += 1
                log.exception("bus handler for %s failed", topic)
