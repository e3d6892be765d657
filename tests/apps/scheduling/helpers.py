"""The demo plant on a real Bus with a fixed clock, and order events like the simulator's."""

from __future__ import annotations

from importlib import resources

from zhizao.assets.loader import parse_plant
from zhizao.bus import Bus
from zhizao.core.clock import FixedClock
from zhizao.core.config import Settings
from zhizao.core.context import Context

NOW = 1_717_200_000_000  # 2024-06-01 00:00 UTC (08:00 in Suzhou)
HOUR = 3_600_000
LINE = "zhizao/suzhou/machining/line1"
MC1 = f"{LINE}/milling/mc1"
CNC1 = f"{LINE}/turning/cnc1"


def demo_plant():
    text = resources.files("zhizao.assets.plants").joinpath("demo.yaml").read_text(encoding="utf-8")
    return parse_plant(text)


def make_ctx(tmp_path, now_ms: int = NOW) -> Context:
    return Context(settings=Settings(data_dir=tmp_path), bus=Bus(), plant=demo_plant(), historian=None,
                   db=None, clock=FixedClock(now_ms))  # type: ignore[arg-type]


def order_event(bus: Bus, order: str, product: str, qty: int, due_ms: int, released_ms: int = NOW,
                status: str = "released") -> None:
    bus.publish(f"_events/order/{order}", {"ts": released_ms, "order": order, "product": product, "qty": qty,
                                           "due": due_ms, "released": released_ms, "status": status,
                                           "completed_qty": 0})
