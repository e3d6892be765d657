"""Asset model: the ISA-95 hierarchy with tags, plus 人机料法环 (people, machines,
materials, methods, environment). A plant is described in one YAML file."""

from zhizao.assets.loader import PlantError, dump_plant, load_demo_plant, load_plant, parse_plant
from zhizao.assets.model import Equipment, Plant, Tag

__all__ = ["Equipment", "Plant", "PlantError", "Tag", "dump_plant", "load_demo_plant", "load_plant", "parse_plant"]
