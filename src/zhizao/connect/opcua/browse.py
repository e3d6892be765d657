"""Browse an OPC UA server and turn what it offers into tag definitions.

``browse`` walks the hierarchy from a start node (``i=85``, Objects, by default),
depth-limited, and lists every variable with its NodeId, browse path, data type,
unit (EngineeringUnits), description and writability, each with a proposed tag
bound to the connector. ``plant_with_tags`` adds the tags a person selected to an
equipment of the plant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from asyncua import Client, ua

from zhizao.assets.model import Plant, Tag, Text
from zhizao.connect.opcua.codec import ENUMERATION, data_type_of, sanitise_id

CHUNK = 500  # nodes per Browse / Read request, under common server limits
HIERARCHICAL = ua.NodeId(ua.ObjectIds.HierarchicalReferences)
HAS_PROPERTY = ua.NodeId(ua.ObjectIds.HasProperty)


class ImportProblem(ValueError):
    """Selected tags that cannot be added; ``key`` and ``params`` give the catalogued message."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _plain(node_id: ua.NodeId) -> ua.NodeId:
    return ua.NodeId(node_id.Identifier, node_id.NamespaceIndex, node_id.NodeIdType)


async def _children(client: Client, nodes: list[ua.NodeId], reference: ua.NodeId,
                    mask: int) -> list[list[ua.ReferenceDescription]]:
    """Forward references of ``reference`` (and subtypes) of every node, following continuation points."""
    out: list[list[ua.ReferenceDescription]] = []
    for chunk in _chunks(nodes):
        params = ua.BrowseParameters(View=ua.ViewDescription(), RequestedMaxReferencesPerNode=0, NodesToBrowse=[
            ua.BrowseDescription(NodeId=n, BrowseDirection=ua.BrowseDirection.Forward, ReferenceTypeId=reference,
                                 IncludeSubtypes=True, NodeClassMask=mask, ResultMask=ua.BrowseResultMask.All)
            for n in chunk])
        for result in await client.uaclient.browse(params):
            refs = list(result.References or [])
            point = result.ContinuationPoint
            while point:
                more = await client.uaclient.browse_next(
                    ua.BrowseNextParameters(ReleaseContinuationPoints=False, ContinuationPoints=[point]))
                refs.extend(more[0].References or [])
                point = more[0].ContinuationPoint
            out.append(refs)
    return out


async def _read(client: Client, nodes: list[ua.NodeId], attr: ua.AttributeIds) -> list[ua.DataValue]:
    out: list[ua.DataValue] = []
    for chunk in _chunks(nodes):
        out.extend(await client.uaclient.read_attributes(chunk, attr))
    return out


def _value(dv: ua.DataValue) -> Any:
    return dv.Value.Value if dv.Value is not None and dv.StatusCode.is_good() else None


async def browse(client: Client, connector: str, start: str = "i=85", *, depth: int = 4, max_nodes: int = 5000,
                 include_standard: bool = False) -> dict[str, Any]:
    """Variables under ``start`` down to ``depth`` levels (at most ``max_nodes``), with proposed tags.

    Nodes of namespace 0 (the server's own diagnostics) are skipped unless
    ``include_standard``. ``truncated`` says whether ``max_nodes`` cut the list short.
    """
    root = ua.NodeId.from_string(start)
    (await _read(client, [root], ua.AttributeIds.NodeClass))[0].StatusCode.check()  # an unknown start says so
    level: list[tuple[ua.NodeId, str]] = [(root, "")]
    seen = {root}
    found: list[tuple[ua.NodeId, str, ua.ReferenceDescription]] = []
    truncated = False
    mask = ua.NodeClass.Object | ua.NodeClass.Variable
    for _ in range(depth):
        if not level or truncated:
            break
        next_level: list[tuple[ua.NodeId, str]] = []
        for (_, parent_path), refs in zip(level, await _children(client, [n for n, _ in level], HIERARCHICAL, mask),
                                          strict=True):
            for ref in refs:
                node_id = _plain(ref.NodeId)
                if node_id in seen or (node_id.NamespaceIndex == 0 and not include_standard):
                    continue
                seen.add(node_id)
                path = f"{parent_path}/{ref.BrowseName.Name}" if parent_path else ref.BrowseName.Name
                if ref.NodeClass == ua.NodeClass.Variable:
                    if len(found) >= max_nodes:
                        truncated = True
                        break
                    found.append((node_id, path, ref))
                else:
                    next_level.append((node_id, path))
        level = next_level

    ids = [n for n, _, _ in found]
    types = [_value(dv) for dv in await _read(client, ids, ua.AttributeIds.DataType)]
    descriptions = [_value(dv) for dv in await _read(client, ids, ua.AttributeIds.Description)]
    access = [_value(dv) or 0 for dv in await _read(client, ids, ua.AttributeIds.UserAccessLevel)]
    units = await _units(client, ids)
    type_names = await _type_names(client, [dt for dt in types if isinstance(dt, ua.NodeId)])

    used: Counter[tuple[str, str]] = Counter()
    variables = []
    for (node_id, path, ref), datatype, desc, level_bits, unit in zip(found, types, descriptions, access, units,
                                                                       strict=True):
        data_type = data_type_of(datatype) if isinstance(datatype, ua.NodeId) else None
        writable = bool(level_bits & ua.AccessLevel.CurrentWrite.mask)
        description = desc.Text if isinstance(desc, ua.LocalizedText) and desc.Text else ""
        tag = None
        if data_type is not None:
            base = sanitise_id(ref.BrowseName.Name) or sanitise_id(ref.DisplayName.Text or "") or "tag"
            key = (path.rpartition("/")[0], base)  # ids are unique among one object's variables
            used[key] += 1
            tag_id = base if used[key] == 1 else f"{base}_{used[key]}"
            tag = Tag(id=tag_id, data_type=data_type, unit=unit, description=Text(en=description),  # type: ignore[arg-type]
                      writable=writable, source={"connector": connector, "address": node_id.to_string()},
                      ).model_dump(mode="json", exclude={"path"}, exclude_none=True)
        variables.append({
            "node_id": node_id.to_string(), "browse_path": path, "browse_name": ref.BrowseName.Name,
            "display_name": ref.DisplayName.Text or "", "opc_type": type_names.get(datatype, "") if datatype else "",
            "data_type": data_type, "unit": unit, "description": description, "writable": writable, "tag": tag,
        })
    return {"node": root.to_string(), "variables": variables, "truncated": truncated,
            "deeper": bool(level) and not truncated}


async def _units(client: Client, ids: list[ua.NodeId]) -> list[str]:
    """The EngineeringUnits display name of each variable ("" when it has none)."""
    props = await _children(client, ids, HAS_PROPERTY, ua.NodeClass.Variable) if ids else []
    eu_nodes: dict[int, ua.NodeId] = {}
    for i, refs in enumerate(props):
        ref = next((r for r in refs if r.BrowseName.Name == "EngineeringUnits"), None)
        if ref is not None:
            eu_nodes[i] = _plain(ref.NodeId)
    values = [_value(dv) for dv in await _read(client, list(eu_nodes.values()), ua.AttributeIds.Value)]
    units = [""] * len(ids)
    for i, eu in zip(eu_nodes, values, strict=True):
        if isinstance(eu, ua.EUInformation) and eu.DisplayName is not None:
            units[i] = eu.DisplayName.Text or ""
    return units


async def _type_names(client: Client, datatypes: list[ua.NodeId]) -> dict[ua.NodeId, str]:
    """Readable names of data types: built-ins by name, others by their browse name."""
    names: dict[ua.NodeId, str] = {}
    others: list[ua.NodeId] = []
    for dt in set(datatypes):
        if dt.NamespaceIndex == 0 and isinstance(dt.Identifier, int) and (1 <= dt.Identifier <= 25):
            names[dt] = ua.VariantType(dt.Identifier).name
        elif dt == ua.NodeId(ENUMERATION):
            names[dt] = "Enumeration"
        else:
            others.append(dt)
    for dt, dv in zip(others, await _read(client, others, ua.AttributeIds.BrowseName), strict=True):
        value = _value(dv)
        names[dt] = value.Name if isinstance(value, ua.QualifiedName) else dt.to_string()
    return names


def plant_with_tags(plant: Plant, equipment: str, tags: list[Tag]) -> Plant:
    """A copy of ``plant`` whose equipment (id or UNS path) has ``tags`` added.

    Raises ``ImportProblem`` for an unknown equipment or a tag id it already has.
    The copy is not validated: parse its dump to check it as a whole.
    """
    new = plant.model_copy(deep=True)
    target = next((eq for *_, eq in new.iter_equipment() if equipment in (eq.id, eq.path)), None)
    if target is None:
        raise ImportProblem("opcua.api.unknown_equipment", equipment=equipment)
    taken = {tag.id for tag in target.all_tags}
    for i, tag in enumerate(tags):
        if tag.id in taken:
            raise ImportProblem("opcua.api.duplicate_tag", index=i, equipment=target.path, tag=tag.id)
        taken.add(tag.id)
    target.tags = [*target.tags, *tags]
    return new
