// The plant as the console sees it: the asset tree, shifts and quick look-ups by path.
import { api } from './api.js';
import { pick } from './i18n.js';
import { plantDay, setTimeZone } from './format.js';

export const plant = {
  enterprise: null,
  timezone: undefined,
  lines: [], // [{id, name, path, flow, equipment: [...]}]
  equipment: new Map(), // path -> equipment (with .line set)
  tags: new Map(), // tag path -> tag metadata (with .equipment set)
  shifts: [],
};

export async function loadPlant() {
  const [tree, entities] = await Promise.all([api('/api/assets'), api('/api/plant').catch(() => ({}))]);
  const ent = tree.enterprise;
  plant.enterprise = ent;
  plant.shifts = entities.shifts || [];
  plant.lines = [];
  for (const site of ent.sites) {
    plant.timezone ??= site.timezone;
    for (const area of site.areas) {
      for (const line of area.lines) {
        const equipment = line.cells.flatMap((cell) => cell.equipment.map((eq) => ({ ...eq, cell })));
        const entry = { ...line, site, area, equipment };
        for (const eq of equipment) {
          eq.line = entry;
          plant.equipment.set(eq.path, eq);
          for (const tag of eq.tags) {
            tag.equipment = eq;
            plant.tags.set(tag.path, tag);
          }
        }
        plant.lines.push(entry);
      }
    }
  }
  setTimeZone(plant.timezone);
  return plant;
}

export const nameOf = (obj) => pick(obj?.name) || obj?.id || '';

// Equipment that owns a tag path (tag id is the last segment).
export function equipmentOfTag(tagPath) {
  return plant.tags.get(tagPath)?.equipment ?? plant.equipment.get(tagPath.slice(0, tagPath.lastIndexOf('/')));
}

// Machines (not buffers) and buffers in the order of the line's flow.
export function flowOf(line) {
  const byId = new Map(line.equipment.map((eq) => [eq.id, eq]));
  return line.flow.map((id) => byId.get(id)).filter(Boolean);
}

export const isBuffer = (eq) => eq.kind === 'buffer';

// The shift running at `ms` (plant clock) with its start and end as epoch ms.
export function shiftAt(ms) {
  if (ms == null || !plant.shifts.length) return null;
  const day = plantDay(ms);
  const mins = (hhmm) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  for (const shift of plant.shifts) {
    const start = mins(shift.start);
    let end = mins(shift.end);
    if (end <= start) end += 1440; // runs past midnight
    for (const dayShift of [0, -1440]) { // today, or a shift that began yesterday
      const m = day.minutes - dayShift;
      if (m >= start && m < end) {
        const startMs = day.start + (start + dayShift) * 60000;
        return { ...shift, startMs, endMs: startMs + (end - start) * 60000 };
      }
    }
  }
  return null;
}

// Start of the current shift, or 8 h back when the plant has no shifts.
export const shiftStart = (ms) => shiftAt(ms)?.startMs ?? ms - 8 * 3600e3;
