import pytest

from zhizao.assets import PlantError, dump_plant, load_demo_plant, parse_plant
from zhizao.assets.loader import demo_plant_text

MINIMAL = """\
enterprise:
  id: acme
  sites:
    - id: s1
      areas:
        - id: a1
          lines:
            - id: l1
              flow: [m1]
              cells:
                - id: c1
                  equipment:
                    - id: m1
                      kind: cnc
                      tags:
                        - {id: temp, unit: °C, range: [0, 100]}
shifts:
  - {id: day, start: "08:00", end: "16:00"}
people:
  - {id: p1, name: Wang, shift: day}
"""


def test_demo_plant_loads_with_uns_paths():
    plant = load_demo_plant()
    machines = [eq for *_, eq in plant.iter_equipment() if eq.kind not in ("buffer", "environment", "utility")]
    assert 6 <= len(machines) <= 8
    assert len({eq.kind for eq in machines}) >= 5
    tag = plant.equipment_by_id()["cnc1"].tag("vibration_rms")
    assert tag.path == "zhizao/suzhou/machining/line1/turning/cnc1/vibration_rms"
    assert tag.alarms.hi == 7.1 and tag.unit == "mm/s"
    assert tag.description.zh and tag.description.en
    # Every path obeys the UNS rule: lower-case [a-z0-9_-] levels, 7 levels.
    for path in plant.tag_index():
        levels = path.split("/")
        assert len(levels) == 7 and all(lv and lv == lv.lower() for lv in levels)


def test_templates_inherit_and_own_tags_override():
    plant = load_demo_plant()
    cnc = plant.equipment_by_id()["cnc1"]
    ids = [t.id for t in cnc.all_tags]
    assert "spindle_speed" in ids and "temperature" in ids  # cnc extends machine
    assert cnc.tags == []  # declared tags stay empty: inherited ones are not copied into the YAML
    insp = plant.equipment_by_id()["insp1"]
    assert insp.tag("bore_diameter") is not None and insp.tag("spindle_speed") is None


def test_entities_of_people_materials_methods():
    plant = load_demo_plant()
    assert {s.id for s in plant.shifts} == {"a", "b", "c"}
    assert plant.people[0].shift == "a"
    product = plant.products[0]
    assert product.routing == "housing" and product.bom[0].material == "casting_a"
    assert plant.routings[0].steps[0].equipment == ["cnc1"]


def test_export_round_trips():
    plant = load_demo_plant()
    again = parse_plant(dump_plant(plant))
    assert again.tag_index().keys() == plant.tag_index().keys()
    assert again.model_dump() == plant.model_dump()


def test_invalid_yaml_names_the_line():
    with pytest.raises(PlantError) as err:
        parse_plant("enterprise:\n  id: acme\n  sites: [\n", file="bad.yaml")
    assert "bad.yaml line" in str(err.value)
    assert err.value.problems[0].line is not None


def test_bad_field_names_line_and_field():
    text = MINIMAL.replace("range: [0, 100]", "range: [100, 0]")
    with pytest.raises(PlantError) as err:
        parse_plant(text, file="plant.yaml")
    problem = err.value.problems[0]
    assert problem.line == 16
    assert problem.field.endswith("tags[0].range")
    assert "low < high" in problem.message


def test_bad_id_and_unknown_key():
    text = MINIMAL.replace("id: m1\n", "id: M 1\n").replace("kind: cnc", "kind: cnc\n                      colour: red")
    with pytest.raises(PlantError) as err:
        parse_plant(text, file="plant.yaml")
    fields = {p.field.rsplit(".", 1)[-1]: p for p in err.value.problems}
    assert "id" in fields and fields["id"].line == 13
    assert "colour" in fields and fields["colour"].line == 15


@pytest.mark.parametrize(
    ("old", "new", "field", "line"),
    [
        ("shift: day", "shift: night", "people[0].shift", 20),
        ("flow: [m1]", "flow: [m2]", "enterprise.sites[0].areas[0].lines[0].flow[0]", 9),
    ],
)
def test_unknown_references_name_line_and_field(old, new, field, line):
    with pytest.raises(PlantError) as err:
        parse_plant(MINIMAL.replace(old, new), file="plant.yaml")
    problem = err.value.problems[0]
    assert (problem.field, problem.line) == (field, line)
    assert "unknown" in problem.message


def test_duplicate_equipment_and_unknown_routing_equipment():
    text = demo_plant_text().replace("{id: cnc2,", "{id: cnc1,").replace("equipment: [mc1]", "equipment: [mc9]")
    with pytest.raises(PlantError) as err:
        parse_plant(text, file="demo.yaml")
    messages = [p.message for p in err.value.problems]
    assert "duplicate equipment id 'cnc1'" in messages
    assert "unknown equipment 'mc9'" in messages
    routing_problem = next(p for p in err.value.problems if "mc9" in p.message)
    assert routing_problem.field == "routings[0].steps[2].equipment[0]"
    assert demo_plant_text().splitlines()[routing_problem.line - 1].strip().startswith("- {operation: milling")


def test_alarm_limits_must_be_ordered():
    text = MINIMAL.replace("range: [0, 100]}", "alarms: {hi: 50, hihi: 40}}")
    with pytest.raises(PlantError) as err:
        parse_plant(text)
    assert "lolo <= lo <= hi <= hihi" in str(err.value)
