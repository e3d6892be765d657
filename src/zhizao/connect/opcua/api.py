"""Browse an OPC UA connector's server and import the variables a person selects as tags.

``POST /api/connectors/{name}/browse`` lists the server's variables with proposed tag
definitions; ``POST /api/connectors/{name}/import`` adds the selected ones to an
equipment of the plant (the connector subscribes to them at once). Both need the
engineer role. Errors come in the language of ``lang`` or ``Accept-Language``.
"""

from __future__ import annotations

from typing import Any

from asyncua import ua
from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from zhizao.api.deps import request_lang, require_role
from zhizao.assets.loader import PlantError, dump_plant, expand_env, parse_plant
from zhizao.assets.model import Tag
from zhizao.connect.opcua.browse import ImportProblem, plant_with_tags
from zhizao.connect.opcua.config import OpcUaConfig
from zhizao.connect.opcua.connector import OpcUaConnector, error_text
from zhizao.core.i18n import t
from zhizao.security.model import User

router = APIRouter(prefix="/api/connectors", tags=["connectors"])


class BrowseIn(BaseModel):
    node: str = Field("i=85", description="NodeId to start from (i=85 is the Objects folder)")
    depth: int = Field(4, ge=1, le=12, description="levels to descend")
    max_nodes: int = Field(5000, ge=1, le=100_000, description="at most this many variables")
    include_standard: bool = Field(False, description="include namespace-0 nodes (the server's own diagnostics)")


class BrowsedVariable(BaseModel):
    node_id: str
    browse_path: str
    browse_name: str
    display_name: str
    opc_type: str
    data_type: str | None = Field(description="the tag data_type; null when Zhizao cannot store this type")
    unit: str
    description: str
    writable: bool
    tag: dict[str, Any] | None = Field(description="a proposed tag definition bound to the connector")


class BrowseOut(BaseModel):
    connector: str
    endpoint: str
    node: str
    variables: list[BrowsedVariable]
    truncated: bool = Field(description="max_nodes cut the list short")
    deeper: bool = Field(description="there are objects below the depth limit")


class ImportIn(BaseModel):
    equipment: str = Field(description="equipment id or UNS path to add the tags to")
    tags: list[Tag] = Field(min_length=1, description="tag definitions, e.g. the browse result's proposals; "
                                                      "source.connector is set to this connector")


class ImportOut(BaseModel):
    equipment: str
    added: list[str] = Field(description="UNS paths of the new tags")


def _connector(request: Request, name: str) -> OpcUaConnector:
    """The running instance, else one built (not started) from the plant's declaration."""
    ctx = request.app.state.ctx
    lang = request_lang(request)
    manager = ctx.services.get("connectors")
    running = manager.connectors.get(name) if manager is not None else None
    spec = next((c for c in ctx.plant.connectors if c.name == name), None)
    kind = running.kind if running is not None else spec.kind if spec is not None else None
    if kind is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, t("opcua.api.unknown_connector", lang, name=name))
    if kind != OpcUaConnector.kind:
        raise HTTPException(status.HTTP_409_CONFLICT, t("opcua.api.wrong_kind", lang, name=name, kind=kind))
    if isinstance(running, OpcUaConnector):
        return running
    assert spec is not None
    return OpcUaConnector(name, OpcUaConfig.model_validate(expand_env(spec.config)), ctx)


@router.post("/{name}/browse", response_model=BrowseOut, summary="Browse an OPC UA connector's server")
async def browse_connector(name: str, body: BrowseIn, request: Request,
                           _: User = Depends(require_role("engineer"))) -> dict[str, Any]:
    """Variables below ``node`` with NodeId, browse path, type, unit and a proposed tag each."""
    connector = _connector(request, name)
    lang = request_lang(request)
    try:
        ua.NodeId.from_string(body.node)
    except Exception as exc:
        raise HTTPException(422, t("opcua.api.bad_node", lang, node=body.node, error=error_text(exc))) from None
    try:
        result = await connector.browse(body.node, body.depth, body.max_nodes, body.include_standard)
    except Exception as exc:  # no connection, refused login, unknown start node...
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, t("opcua.api.browse_failed", lang,
                                                           endpoint=connector.config.endpoint,
                                                           error=error_text(exc))) from None
    return {"connector": name, "endpoint": connector.config.endpoint, **result}


@router.post("/{name}/import", response_model=ImportOut, summary="Add browsed OPC UA variables as tags")
async def import_tags(name: str, body: ImportIn, request: Request,
                      _: User = Depends(require_role("engineer"))) -> dict[str, Any]:
    """Add the tags to the equipment, bound to this connector; the plant is validated and saved."""
    _connector(request, name)
    lang = request_lang(request)
    tags = []
    for i, tag in enumerate(body.tags):
        if not tag.source.address:
            raise HTTPException(422, t("opcua.api.no_address", lang, index=i))
        tags.append(tag.model_copy(update={"source": tag.source.model_copy(update={"connector": name})}))
    platform = request.app.state.platform
    try:
        draft = plant_with_tags(platform.ctx.plant, body.equipment, tags)
    except ImportProblem as exc:
        code = 404 if exc.key == "opcua.api.unknown_equipment" else 409
        raise HTTPException(code, t(exc.key, lang, **exc.params)) from None
    try:
        plant = parse_plant(dump_plant(draft), file="<import>")
    except PlantError as exc:
        raise HTTPException(422, t("opcua.api.invalid_plant", lang, problems=str(exc))) from None
    await platform.apply_plant(plant)
    eq = next(eq for *_, eq in plant.iter_equipment() if body.equipment in (eq.id, eq.path))
    return {"equipment": eq.path, "added": [f"{eq.path}/{tag.id}" for tag in tags]}
