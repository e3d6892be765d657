"""Tag data: latest values, history, batch writes and the live stream (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from sse_starlette.sse import EventSourceResponse

from zhizao.api.assets import tag_json
from zhizao.api.deps import current_user, get_ctx, get_service, require_role
from zhizao.api.timeparse import parse_interval, time_range
from zhizao.bus import Message
from zhizao.connect.ingest import Ingest, SpoolFull
from zhizao.core.context import Context
from zhizao.security.model import User
from zhizao.store.historian import AGGS, Point

router = APIRouter(prefix="/api", tags=["tags"])

MAX_BATCH = 100_000
WAIT_STORED_S = 10.0  # the reply waits this long at most for the points to reach the historian
MAX_POINTS_RETURNED = 20_000
STREAM_EVENTS = {"state", "alarm", "order", "failure"}


def point_json(p: Point) -> dict[str, Any]:
    return {"ts": p.ts, "v": p.v, "q": p.q}


def _known(ctx: Context, path: str) -> None:
    if path not in ctx.plant.tag_index():
        raise HTTPException(404, f"path: no tag '{path}'")


@router.get("/tags")
def list_tags(prefix: str = "", ctx: Context = Depends(get_ctx), _: User = Depends(current_user)) -> list[dict]:
    return [tag_json(t) for t in ctx.plant.tags() if t.path.startswith(prefix)]


@router.get("/tags/latest")
def latest_many(prefix: str = "", ctx: Context = Depends(get_ctx),
                _: User = Depends(current_user)) -> dict[str, dict]:
    paths = [t.path for t in ctx.plant.tags() if t.path.startswith(prefix)]
    return {path: point_json(p) for path, p in ctx.historian.latest(paths).items()}


@router.get("/tags/{path:path}/latest")
def latest_one(path: str, ctx: Context = Depends(get_ctx), _: User = Depends(current_user)) -> dict:
    _known(ctx, path)
    point = ctx.historian.latest([path]).get(path)
    if point is None:
        raise HTTPException(404, f"path: tag '{path}' has no value yet")
    return {"tag": path, **point_json(point)}


@router.get("/tags/{path:path}/history")
def history(path: str, start: str | None = None, end: str | None = None, interval: str | None = None,
            agg: str = "avg", ctx: Context = Depends(get_ctx), _: User = Depends(current_user)) -> dict:
    """Raw points, or one aggregate per ``interval`` (avg/min/max/last/first/count/sum)."""
    _known(ctx, path)
    start_ms, end_ms = time_range(start, end, ctx.clock.now_ms(), 3_600_000)
    interval_ms = parse_interval(interval)
    if agg not in AGGS:
        raise HTTPException(422, f"agg: '{agg}' is not one of {', '.join(AGGS)}")
    if interval_ms is None:
        points = ctx.historian.read_raw(path, start_ms, end_ms, limit=MAX_POINTS_RETURNED)
        return {"tag": path, "agg": None, "interval": None, "points": [[p.ts, p.v] for p in points]}
    if (end_ms - start_ms) // interval_ms > MAX_POINTS_RETURNED:
        raise HTTPException(422, f"interval: too small for this range (more than {MAX_POINTS_RETURNED} buckets)")
    series = ctx.historian.read_agg([path], start_ms, end_ms, interval_ms, agg).get(path, [])
    return {"tag": path, "agg": agg, "interval": interval_ms, "points": [list(b) for b in series]}


@router.post("/tags/data")
async def write_data(points: list[dict[str, Any]], ingest: Ingest = Depends(get_service("ingest")),
                     _: User = Depends(require_role("operator"))) -> dict:
    """Batch write ``[{"tag","ts","v","q"}]`` through the ingest service (source ``api``).

    Accepted points are durable before the reply (store-and-forward spool) and, while the
    historian is up, already readable; each rejected one is listed with its index and the
    reason. 503 when the spool is full: nothing of the batch was taken, send it again."""
    if len(points) > MAX_BATCH:
        raise HTTPException(413, f"body: at most {MAX_BATCH} points per request")
    try:
        result = await ingest.submit(points, source="api")
    except SpoolFull as exc:
        raise HTTPException(503, str(exc), headers={"Retry-After": "10"}) from None
    await ingest.wait_stored(result, timeout=WAIT_STORED_S)
    return {
        "accepted": result.accepted,
        "rejected": [{"index": r.index, "tag": r.tag, "reason": r.reason, "detail": r.detail}
                     for r in result.rejected],
    }


@router.get("/stream")
async def stream(request: Request, prefix: str = "", ctx: Context = Depends(get_ctx),
                 _: User = Depends(current_user)) -> EventSourceResponse:
    """Server-sent events: ``tags`` (changed values, about once a second, with the plant
    clock) and ``state`` / ``alarm`` / ``order`` / ``failure`` as they happen."""
    changed: dict[str, dict] = {}
    events: deque[tuple[str, Any]] = deque(maxlen=1000)
    wake = asyncio.Event()

    def on_message(msg: Message) -> None:
        if msg.topic.startswith("_events/"):
            kind = msg.topic.split("/", 2)[1]
            if kind in STREAM_EVENTS and msg.topic.split("/", 2)[-1].startswith(prefix):
                events.append((kind, msg.payload))
                wake.set()
        elif msg.topic.startswith(prefix):
            # A UNS payload is one value or a list of them: the stream shows the last.
            last = msg.payload[-1] if isinstance(msg.payload, list) and msg.payload else msg.payload
            if isinstance(last, dict):
                changed[msg.topic] = last

    off = ctx.bus.on("#", on_message)

    async def generate():
        try:
            yield {"event": "tags", "data": json.dumps({"clock": ctx.clock.now_ms(), "values": {
                path: point_json(p) for path, p in ctx.historian.latest(
                    [t.path for t in ctx.plant.tags() if t.path.startswith(prefix)]).items()}})}
            loop = asyncio.get_running_loop()
            next_tags = loop.time() + 1.0
            while True:
                try:
                    await asyncio.wait_for(wake.wait(), timeout=max(0.0, next_tags - loop.time()))
                except TimeoutError:
                    pass
                wake.clear()
                while events:
                    kind, payload = events.popleft()
                    yield {"event": kind, "data": json.dumps(payload)}
                if loop.time() >= next_tags:
                    values = dict(changed)
                    changed.clear()
                    yield {"event": "tags", "data": json.dumps({"clock": ctx.clock.now_ms(), "values": values})}
                    next_tags = loop.time() + 1.0
        finally:
            off()

    return EventSourceResponse(generate(), ping=15)
