"""Write-back (reverse control): set a writable tag on its device and verify by reading it back.

``POST /api/tags/{path}/write`` with ``{"value": ..., "confirm": true}``. Checks, in
this order, each refusal naming what is wrong: the user is an engineer or admin
(403), the tag exists (404) and is flagged ``writable`` (409), the value has the
tag's type and lies inside its ``range`` (422), and ``confirm`` is true (428: the
console's confirmation step; a request without it validates the value and writes
nothing). The value then goes to the connector named by ``tag.source.connector``
(``write`` then ``read``), or to the simulator for the built-in ``sim`` source.
Every attempt, accepted, refused or failed, leaves an audit entry (action
``write``) with the user, tag, old value, new value, read-back and outcome.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from zhizao.api.deps import current_user, get_ctx
from zhizao.assets.model import Tag
from zhizao.connect.base import WriteError
from zhizao.core.context import Context
from zhizao.security.model import User, role_rank

router = APIRouter(prefix="/api", tags=["write-back"])

WRITE_ROLE = "engineer"


class WriteIn(BaseModel):
    value: Any = Field(..., description="the new value, of the tag's data type and inside its range")
    confirm: bool = Field(False, description="must be true: the user has confirmed this write")


class WriteOut(BaseModel):
    tag: str
    old: Any = Field(None, description="the last known value before the write")
    written: Any
    read_back: Any = Field(None, description="the device's value read after the write (null if unreadable)")
    verified: bool = Field(description="the read-back equals the written value")
    read_error: str | None = None


def check_value(tag: Tag, value: Any) -> float | int | bool | str:
    """The value converted to the tag's type; ``ValueError`` naming the field and the range otherwise."""
    kind = tag.data_type
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"value: tag '{tag.path}' takes true or false, not {value!r}")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"value: tag '{tag.path}' takes a string, not {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"value: tag '{tag.path}' takes a finite number, not {value!r}")
    if kind == "int":
        if value != int(value):
            raise ValueError(f"value: tag '{tag.path}' takes a whole number, not {value!r}")
        value = int(value)
    else:
        value = float(value)
    if tag.range is not None:
        low, high = tag.range
        if not low <= value <= high:
            raise ValueError(f"value: {value:g} is outside the range [{low:g}, {high:g}] of tag '{tag.path}'")
    return value


def plain(value: Any) -> Any:
    """A device's value as JSON can hold it (numpy scalars, protocol types...)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)


def same_value(written: Any, read_back: Any) -> bool:
    """Equal, allowing for the rounding of a device's number format (e.g. a float32 register)."""
    if isinstance(written, bool) or isinstance(read_back, bool):
        return written == read_back
    if isinstance(written, int | float) and isinstance(read_back, int | float):
        return math.isclose(written, read_back, rel_tol=1e-6, abs_tol=1e-9)
    return written == read_back


# ---- the two kinds of target: connector instances, and the built-in simulator ----------------------
class SimTarget:
    """The simulator as a write-back target, shaped like a connector's ``write`` / ``read``."""

    # Simulator tags that can be set, and the control that sets each.
    CONTROLS = {"feed_override": "set_feed_override"}

    def __init__(self, sim: Any) -> None:
        self.sim = sim

    async def write(self, tag: Tag, value: Any) -> None:
        control = self.CONTROLS.get(tag.id)
        if control is None:
            raise WriteError(f"the simulator has no control for tag '{tag.id}' "
                             f"(it can set {', '.join(self.CONTROLS)})")
        try:
            getattr(self.sim, control)(tag.path.rsplit("/", 2)[-2], value)
        except Exception as exc:  # SimError: the simulator refused
            raise WriteError(f"simulator: {exc}") from exc

    async def read(self, tag: Tag) -> Any:
        equipment = tag.path.rsplit("/", 1)[0]
        machine = next((m for line in self.sim.status()["lines"] for m in line["machines"]
                        if m["path"] == equipment), None)
        if machine is None or tag.id not in machine:
            raise WriteError(f"the simulator does not report tag '{tag.id}'")
        return machine[tag.id]


def write_target(ctx: Context, tag: Tag) -> Any:
    """What carries out writes to ``tag``: its running connector, or the simulator.
    Raises ``HTTPException`` (409 no device, 503 not running)."""
    name = tag.source.connector
    if name == "sim":
        sim = ctx.services.get("sim")
        if sim is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                                f"tag '{tag.path}' is bound to the simulator, which is not running")
        return SimTarget(sim)
    if name == "api":
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"tag '{tag.path}' is written through the API only: no device to write to")
    manager = ctx.services.get("connectors")
    connector = manager.connectors.get(name) if manager is not None else None
    if connector is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            f"source.connector: connector '{name}' of tag '{tag.path}' is not running")
    return connector


@router.post("/tags/{path:path}/write", response_model=WriteOut, summary="Write a value to a writable tag")
async def write_tag(path: str, body: WriteIn, request: Request, ctx: Context = Depends(get_ctx),
                    user: User = Depends(current_user)) -> WriteOut:
    """Writes to the device, reads back, and reports ``verified``; needs an engineer or admin.

    Errors: 403 role, 404 unknown tag, 409 tag not writable or no device behind it,
    422 wrong type or out of range, 428 ``confirm`` not true, 502 the device refused,
    503 the connector (or simulator) is not running.
    """
    security = request.app.state.security
    client = request.client.host if request.client else None
    entry: dict[str, Any] = {"tag": path, "old": None, "new": body.value, "read_back": None}

    async def audit(code: int, outcome: str, message: str | None = None) -> None:
        detail = {**entry, "outcome": outcome, **({"error": message} if message else {})}
        await run_in_threadpool(security.audit, user.username, "write", path, code, client, detail)

    async def refuse(code: int, outcome: str, message: str) -> HTTPException:
        await audit(code, outcome, message)
        return HTTPException(code, message)

    if role_rank(user.role) < role_rank(WRITE_ROLE):
        raise await refuse(status.HTTP_403_FORBIDDEN, "refused_role",
                           f"role '{user.role}' may not do this; '{WRITE_ROLE}' or higher is needed")
    tag = ctx.plant.tag_index().get(path)
    if tag is None:
        raise await refuse(status.HTTP_404_NOT_FOUND, "unknown_tag", f"path: no tag '{path}'")
    latest = ctx.historian.latest([path]).get(path)
    entry["old"] = latest.v if latest is not None else None
    if not tag.writable:
        raise await refuse(status.HTTP_409_CONFLICT, "not_writable", f"tag '{path}' is not writable")
    try:
        value = check_value(tag, body.value)
    except ValueError as exc:
        raise await refuse(status.HTTP_422_UNPROCESSABLE_CONTENT, "invalid_value", str(exc)) from None
    entry["new"] = value
    if not body.confirm:
        raise await refuse(status.HTTP_428_PRECONDITION_REQUIRED, "unconfirmed",
                           f"confirm: must be true to write {value!r} to tag '{path}'")
    try:
        target = write_target(ctx, tag)
    except HTTPException as exc:
        raise await refuse(exc.status_code, "unavailable", exc.detail) from None
    if isinstance(target, SimTarget):  # the simulator knows the exact current value
        with contextlib.suppress(WriteError):
            entry["old"] = await target.read(tag)

    try:
        await target.write(tag, value)
    except Exception as exc:  # WriteError by contract; anything else is a failed write too
        raise await refuse(status.HTTP_502_BAD_GATEWAY, "failed", f"write to tag '{path}' failed: {exc}") from None
    read_error = None
    try:
        entry["read_back"] = plain(await target.read(tag))
    except Exception as exc:
        read_error = f"read-back of tag '{path}' failed: {exc}"
    verified = read_error is None and same_value(value, entry["read_back"])
    await audit(status.HTTP_200_OK, "verified" if verified else "unverified", read_error)
    return WriteOut(tag=path, old=entry["old"], written=value, read_back=entry["read_back"], verified=verified,
                    read_error=read_error)
