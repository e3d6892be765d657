"""The asset model over HTTP: the tree, tag metadata, plant import/export and edits."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ValidationError

from zhizao.api.deps import current_user, get_ctx, require_role
from zhizao.assets.loader import PlantError, dump_plant, parse_plant
from zhizao.assets.model import AlarmLimits, Plant, Tag, Text
from zhizao.core.context import Context
from zhizao.security.model import User

router = APIRouter(prefix="/api", tags=["assets"])


def tag_json(tag: Tag) -> dict[str, Any]:
    data = tag.model_dump(mode="json", exclude={"source"})
    data["path"] = tag.path
    data["source"] = tag.source.model_dump(mode="json")
    return data


def asset_tree(plant: Plant) -> dict[str, Any]:
    """The ISA-95 tree with UNS paths at every level and each equipment's full tag list."""
    ent = plant.enterprise

    def named(obj: Any, path: str) -> dict[str, Any]:
        return {"id": obj.id, "name": obj.name.model_dump(), "path": path}

    sites = []
    for site in ent.sites:
        areas = []
        for area in site.areas:
            lines = []
            for line in area.lines:
                cells = []
                for cell in line.cells:
                    equipment = [
                        {
                            **named(eq, eq.path),
                            "kind": eq.kind, "ideal_cycle_s": eq.ideal_cycle_s, "capacity": eq.capacity,
                            "rated_power_kw": eq.rated_power_kw, "attributes": eq.attributes,
                            "tags": [tag_json(t) for t in eq.all_tags],
                        }
                        for eq in cell.equipment
                    ]
                    line_path = plant.line_path(site, area, line)
                    cells.append({**named(cell, f"{line_path}/{cell.id}"), "equipment": equipment})
                lines.append({**named(line, plant.line_path(site, area, line)), "flow": line.flow,
                              "cells": cells})
            areas.append({**named(area, f"{ent.id}/{site.id}/{area.id}"), "lines": lines})
        sites.append({**named(site, f"{ent.id}/{site.id}"), "timezone": site.timezone, "areas": areas})
    return {"enterprise": {**named(ent, ent.id), "sites": sites}}


@router.get("/assets")
def get_assets(ctx: Context = Depends(get_ctx), _: User = Depends(current_user)) -> dict:
    return asset_tree(ctx.plant)


@router.get("/plant")
def get_plant_entities(ctx: Context = Depends(get_ctx), _: User = Depends(current_user)) -> dict:
    """人机料法: shifts, people, materials, products with BOMs, routings."""
    return ctx.plant.model_dump(mode="json", include={"shifts", "people", "materials", "products", "routings"})


@router.get("/plant/export", response_class=PlainTextResponse)
def export_plant(ctx: Context = Depends(get_ctx), _: User = Depends(current_user)) -> str:
    return dump_plant(ctx.plant)


@router.put("/plant")
async def replace_plant(request: Request, yaml_text: str = Body(..., media_type="text/yaml"),
                        _: User = Depends(require_role("admin"))) -> dict:
    """Create or replace the whole plant from YAML; errors name the line and field."""
    try:
        plant = parse_plant(yaml_text, file="request body")
    except PlantError as exc:
        raise HTTPException(422, exc.as_json()) from None
    await request.app.state.platform.apply_plant(plant)
    return {"ok": True, "equipment": len(plant.equipment_by_id()), "tags": len(plant.tags())}


class TagChange(BaseModel):
    unit: str | None = None
    description: Text | None = None
    range: tuple[float, float] | None = None
    alarms: AlarmLimits | None = None
    writable: bool | None = None


@router.patch("/tags/{path:path}")
async def change_tag(path: str, change: TagChange, request: Request, ctx: Context = Depends(get_ctx),
               _: User = Depends(require_role("engineer"))) -> dict:
    """Change a tag's metadata; a tag inherited from a template gets an override on its equipment."""
    eq_path, _sep, tag_id = path.rpartition("/")
    plant = ctx.plant.model_copy(deep=True).resolve()
    eq = next((e for *_, e in plant.iter_equipment() if e.path == eq_path), None)
    if eq is None or eq.tag(tag_id) is None:
        raise HTTPException(404, f"path: no tag '{path}'")
    own = next((t for t in eq.tags if t.id == tag_id), None)
    if own is None:
        own = eq.tag(tag_id).model_copy(deep=True)
        eq.tags.append(own)
    try:
        for field, value in change.model_dump(exclude_unset=True).items():
            setattr(own, field, value)
        new_plant = parse_plant(dump_plant(plant), file="changed plant")
    except (ValidationError, PlantError) as exc:
        raise HTTPException(422, str(exc)) from None
    await request.app.state.platform.apply_plant(new_plant)
    return tag_json(new_plant.tag_index()[path])
