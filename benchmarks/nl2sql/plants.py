"""Own plant databases for the NL→SQL benchmark, in four naming styles, loadable into four dialects.

- ``chem``: chemical batch plant, English snake_case with English comments;
- ``smt``: electronics SMT line, abbreviated names, no comments;
- ``food``: food packaging plant, pinyin-ish names with Chinese comments only;
- ``wms``: warehouse / logistics, plain English names, no comments, no declared keys;
- ``mold``: injection moulding, camelCase names, Chinese table comments, a few Chinese column comments;
- ``pharma``: tablet plant, UPPER_SNAKE abbreviated names, no comments;
- ``cn``: utilities and faults with Chinese table and column names, no comments;
- ``auto``: vehicle assembly, English names with Chinese comments, Chinese cell values.

Data is generated deterministically (seeded) so gold answers are stable. ``load(plant, dialect, target)``
creates the tables and rows in DuckDB (file), SQLite (file), PostgreSQL (database) or MySQL/MariaDB
(database) and returns the URL to ask.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta


@dataclass
class Col:
    name: str
    kind: str  # text | int | float | date | timestamp
    comment: str = ""
    pk: bool = False
    ref: str | None = None  # "table.column"


@dataclass
class Tab:
    name: str
    cols: list[Col]
    comment: str = ""
    rows: list[tuple] = field(default_factory=list)


def _days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def chem() -> list[Tab]:
    rng = random.Random(11)
    reactors = Tab("reactors", [
        Col("reactor_id", "text", "reactor identifier", pk=True), Col("reactor_name", "text", "reactor name"),
        Col("area", "text", "plant area"), Col("capacity_l", "float", "capacity in litres"),
        Col("commissioned_on", "date", "commissioning date")], "batch reactors")
    reactors.rows = [("R-101", "Reactor 101", "North", 5000.0, date(2015, 4, 1)),
                     ("R-102", "Reactor 102", "North", 5000.0, date(2017, 9, 12)),
                     ("R-201", "Reactor 201", "South", 8000.0, date(2019, 2, 20)),
                     ("R-202", "Reactor 202", "South", 8000.0, date(2021, 6, 5)),
                     ("R-301", "Reactor 301", "East", 12000.0, date(2022, 11, 30))]
    batches = Tab("batches", [
        Col("batch_id", "int", "batch number", pk=True),
        Col("reactor_id", "text", "reactor", ref="reactors.reactor_id"),
        Col("product_grade", "text", "product grade"), Col("start_time", "timestamp", "batch start time"),
        Col("cycle_hours", "float", "batch cycle time in hours"), Col("input_kg", "float", "raw material input in kg"),
        Col("output_kg", "float", "product output in kg"), Col("status", "text", "batch status"),
        Col("operator", "text", "shift operator")], "production batches")
    grades = ["PVA-17", "PVA-24", "EVA-A", "EVA-B"]
    operators = ["Wang", "Li", "Zhang", "Chen"]
    bid = 1000
    for day in _days(date(2024, 1, 1), 182):
        for reactor in reactors.rows:
            if rng.random() < 0.55:
                continue
            bid += 1
            inp = round(rng.uniform(0.6, 0.95) * reactor[3] * 0.8, 1)
            status = "aborted" if rng.random() < 0.06 else "completed"
            out = 0.0 if status == "aborted" else round(inp * rng.uniform(0.82, 0.97), 1)
            start = datetime(day.year, day.month, day.day, rng.choice([0, 8, 16]), rng.choice([0, 15, 30, 45]))
            batches.rows.append((bid, reactor[0], rng.choice(grades), start, round(rng.uniform(5, 9), 2), inp, out,
                                 status, rng.choice(operators)))
    tests = Tab("quality_tests", [
        Col("test_id", "int", "test id", pk=True), Col("batch_id", "int", "batch", ref="batches.batch_id"),
        Col("test_date", "date", "test date"), Col("parameter", "text", "tested parameter"),
        Col("measured_value", "float", "measured value"), Col("result", "text", "pass or fail")], "lab quality tests")
    tid = 0
    for b in batches.rows:
        if b[7] != "completed":
            continue
        for param, lo, hi, limit in (("viscosity", 20, 32, 30), ("purity", 97.0, 99.9, 98.0),
                                     ("moisture", 0.1, 0.9, 0.8)):
            tid += 1
            v = round(rng.uniform(lo, hi), 2)
            ok = (v <= limit) if param != "purity" else (v >= limit)
            tests.rows.append((tid, b[0], (b[3] + timedelta(hours=b[4] + 2)).date(), param, v,
                               "pass" if ok else "fail"))
    usage = Tab("material_usage", [
        Col("usage_id", "int", "usage id", pk=True), Col("batch_id", "int", "batch", ref="batches.batch_id"),
        Col("material", "text", "raw material name"), Col("quantity_kg", "float", "quantity used in kg"),
        Col("cost_cny", "float", "material cost in CNY")], "raw material consumption per batch")
    uid = 0
    prices = {"vinyl acetate": 7.2, "methanol": 2.6, "catalyst": 85.0, "ethylene": 6.1}
    for b in batches.rows:
        for material in ("vinyl acetate", "methanol", "catalyst") if b[2].startswith("PVA") else \
                ("vinyl acetate", "ethylene", "catalyst"):
            uid += 1
            q = round(b[5] * (0.02 if material == "catalyst" else rng.uniform(0.3, 0.5)), 1)
            usage.rows.append((uid, b[0], material, q, round(q * prices[material], 2)))
    return [reactors, batches, tests, usage]


def smt() -> list[Tab]:
    rng = random.Random(22)
    eqp = Tab("eqp", [Col("eqp_cd", "text", pk=True), Col("eqp_nm", "text"), Col("ln_cd", "text"),
                      Col("eqp_typ", "text")])
    for line in ("SMT1", "SMT2", "SMT3"):
        for typ, n in (("printer", 1), ("mounter", 2), ("reflow", 1), ("AOI", 1)):
            for k in range(1, n + 1):
                code = f"{line}-{typ[:3].upper()}{k}"
                eqp.rows.append((code, f"{line} {typ} {k}", line, typ))
    wo = Tab("wo", [Col("wo_no", "text", pk=True), Col("prod_cd", "text"), Col("ln_cd", "text"),
                    Col("plan_qty", "int"), Col("act_qty", "int"), Col("st_dt", "date"), Col("due_dt", "date"),
                    Col("wo_sts", "text")])
    products = ["PCBA-100", "PCBA-200", "PCBA-300", "PCBA-400", "PCBA-500"]
    n = 0
    for day in _days(date(2024, 1, 2), 180):
        for line in ("SMT1", "SMT2", "SMT3"):
            if rng.random() < 0.5:
                continue
            n += 1
            plan = rng.choice([500, 800, 1000, 1200, 2000])
            sts = "CLOSED" if day < date(2024, 6, 10) else rng.choice(["OPEN", "CLOSED", "HOLD"])
            act = int(plan * rng.uniform(0.85, 1.02)) if sts == "CLOSED" else int(plan * rng.uniform(0, 0.6))
            wo.rows.append((f"WO{24000 + n}", rng.choice(products), line, plan, act, day,
                            day + timedelta(days=rng.choice([3, 5, 7])), sts))
    insp = Tab("aoi_insp", [Col("insp_id", "int", pk=True), Col("wo_no", "text"), Col("ln_cd", "text"),
                            Col("insp_dt", "date"), Col("insp_qty", "int"), Col("ng_qty", "int"),
                            Col("def_typ", "text")])
    iid = 0
    for w in wo.rows:
        for k in range(rng.randint(1, 3)):
            iid += 1
            q = max(1, w[4] // 2)
            insp.rows.append((iid, w[0], w[2], w[5] + timedelta(days=k), q, int(q * rng.uniform(0.001, 0.03)),
                              rng.choice(["bridge", "missing", "shift", "tombstone", "insufficient solder"])))
    alm = Tab("mc_alm", [Col("alm_id", "int", pk=True), Col("eqp_cd", "text"), Col("alm_ts", "timestamp"),
                         Col("alm_lvl", "text"), Col("dur_sec", "int"), Col("alm_msg", "text")])
    msgs = {"printer": ["stencil clog", "paste low"], "mounter": ["nozzle error", "feeder empty", "pick failure"],
            "reflow": ["temperature deviation", "conveyor stop"], "AOI": ["camera fault", "false call limit"]}
    aid = 0
    for e in eqp.rows:
        for _ in range(rng.randint(25, 60)):
            aid += 1
            ts = datetime(2024, 1, 1) + timedelta(minutes=rng.randint(0, 182 * 24 * 60))
            alm.rows.append((aid, e[0], ts, rng.choice(["HIGH", "MID", "LOW", "LOW"]), rng.randint(20, 1800),
                             rng.choice(msgs[e[3]])))
    return [eqp, wo, insp, alm]


def food() -> list[Tab]:
    rng = random.Random(33)
    xian = Tab("chanxian", [Col("xian_id", "text", "产线编号", pk=True), Col("xian_mingcheng", "text", "产线名称"),
                            Col("chejian", "text", "所属车间")], "包装产线")
    xian.rows = [("PL01", "饼干包装线", "一车间"), ("PL02", "糖果包装线", "一车间"), ("PL03", "饮料灌装线", "二车间"),
                 ("PL04", "薯片包装线", "二车间")]
    chanpin = Tab("chanpin", [Col("chanpin_bm", "text", "产品编码", pk=True), Col("chanpin_mc", "text", "产品名称"),
                              Col("pinlei", "text", "品类"), Col("danjia", "float", "出厂单价（元/箱）")], "产品主数据")
    chanpin.rows = [("SP-001", "苏打饼干", "饼干", 48.0), ("SP-002", "夹心饼干", "饼干", 56.0),
                    ("SP-003", "水果糖", "糖果", 62.0), ("SP-004", "橙汁饮料", "饮料", 36.0),
                    ("SP-005", "原味薯片", "膨化食品", 72.0)]
    line_products = {"PL01": ["SP-001", "SP-002"], "PL02": ["SP-003"], "PL03": ["SP-004"], "PL04": ["SP-005"]}
    jilu = Tab("shengchan_jilu", [
        Col("jilu_id", "int", "记录号", pk=True), Col("xian_id", "text", "产线", ref="chanxian.xian_id"),
        Col("chanpin_bm", "text", "产品", ref="chanpin.chanpin_bm"), Col("riqi", "date", "生产日期"),
        Col("banci", "text", "班次"), Col("jihua_xiangshu", "int", "计划箱数"),
        Col("shiji_xiangshu", "int", "实际产量（箱）"),
        Col("feipin_shu", "int", "废品数（箱）")], "生产日报")
    jid = 0
    for day in _days(date(2024, 1, 1), 182):
        for line, prods in line_products.items():
            for shift in ("早班", "中班", "夜班"):
                if shift == "夜班" and line in ("PL02", "PL04") and rng.random() < 0.5:
                    continue
                jid += 1
                plan = rng.choice([300, 400, 500])
                act = int(plan * rng.uniform(0.8, 1.05))
                jilu.rows.append((jid, line, rng.choice(prods), day, shift, plan, act, int(act * rng.uniform(0, 0.03))))
    tingji = Tab("tingji_jilu", [
        Col("id", "int", "停机记录号", pk=True), Col("xian_id", "text", "产线", ref="chanxian.xian_id"),
        Col("kaishi_shijian", "timestamp", "停机开始时间"), Col("shichang_fenzhong", "int", "停机时长（分钟）"),
        Col("yuanyin", "text", "停机原因")], "停机记录")
    tid = 0
    for day in _days(date(2024, 1, 1), 182):
        for line in line_products:
            if rng.random() < 0.6:
                tid += 1
                tingji.rows.append((tid, line, datetime(day.year, day.month, day.day, rng.randint(0, 23),
                                                        rng.randint(0, 59)),
                                    rng.randint(5, 120), rng.choice(["换型", "设备故障", "缺料", "清洁", "停电"])))
    return [xian, chanpin, jilu, tingji]


def wms() -> list[Tab]:
    rng = random.Random(44)
    wh = Tab("warehouses", [Col("id", "text"), Col("name", "text"), Col("city", "text")])
    wh.rows = [("WH-SH", "Shanghai DC", "Shanghai"), ("WH-SZ", "Shenzhen DC", "Shenzhen"),
               ("WH-CD", "Chengdu DC", "Chengdu")]
    items = Tab("items", [Col("sku", "text"), Col("description", "text"), Col("category", "text"),
                          Col("unit_price", "float")])
    cats = ["bearing", "motor", "sensor", "cable"]
    for k in range(1, 13):
        cat = cats[k % 4]
        items.rows.append((f"SKU-{k:03d}", f"{cat} model {k}", cat, round(rng.uniform(5, 400), 2)))
    ship = Tab("shipments", [Col("shipment_id", "int"), Col("warehouse_id", "text"), Col("sku", "text"),
                             Col("customer", "text"), Col("ship_date", "date"), Col("quantity", "int"),
                             Col("weight_kg", "float"), Col("freight_cost", "float"), Col("carrier", "text"),
                             Col("delivery_status", "text")])
    customers = ["Haier", "Midea", "Gree", "BYD", "Sany"]
    carriers = ["SF Express", "JD Logistics", "Deppon"]
    for sid in range(1, 1501):
        d = date(2024, 1, 1) + timedelta(days=rng.randint(0, 181))
        q = rng.randint(5, 200)
        w = round(q * rng.uniform(0.5, 3.0), 1)
        ship.rows.append((sid, rng.choice(wh.rows)[0], rng.choice(items.rows)[0], rng.choice(customers), d, q, w,
                          round(w * rng.uniform(1.5, 3.5), 2), rng.choice(carriers),
                          "late" if rng.random() < 0.12 else "on time"))
    inv = Tab("inventory", [Col("warehouse_id", "text"), Col("sku", "text"), Col("snapshot_date", "date"),
                            Col("qty_on_hand", "int")])
    for month in range(1, 7):
        for w in wh.rows:
            for it in items.rows:
                inv.rows.append((w[0], it[0], date(2024, month, 28), rng.randint(0, 900)))
    return [wh, items, ship, inv]


def mold() -> list[Tab]:
    rng = random.Random(55)
    press = Tab("press", [Col("pressId", "text", pk=True), Col("pressName", "text"), Col("tonnage", "int"),
                          Col("workshop", "text")], "注塑机台账")
    press.rows = [("IM-01", "Engel 200", 200, "Hall A"), ("IM-02", "Engel 250", 250, "Hall A"),
                  ("IM-03", "Haitian 320", 320, "Hall A"), ("IM-04", "Haitian 400", 400, "Hall B"),
                  ("IM-05", "Arburg 280", 280, "Hall B"), ("IM-06", "Haitian 500", 500, "Hall B")]
    molds = Tab("moldInfo", [Col("moldNo", "text", pk=True), Col("partName", "text"), Col("cavities", "int"),
                             Col("ownerCustomer", "text")], "模具")
    molds.rows = [("M-1001", "door handle", 2, "Bosch"), ("M-1002", "lamp housing", 1, "Bosch"),
                  ("M-1003", "bottle cap", 8, "Nestle"), ("M-1004", "gear cover", 4, "Bosch"),
                  ("M-1005", "cup lid", 8, "Nestle"), ("M-1006", "clip", 4, "Valeo"),
                  ("M-1007", "bezel", 2, "Valeo"), ("M-1008", "knob", 4, "Valeo")]
    log = Tab("shotLog", [Col("logId", "int", pk=True), Col("pressId", "text"), Col("moldNo", "text"),
                          Col("logDate", "date"), Col("shiftName", "text", "班次"), Col("shots", "int", "注射模次"),
                          Col("goodParts", "int", "良品数"), Col("rejectParts", "int", "不良品数"),
                          Col("cycleSec", "float", "成型周期（秒）")], "生产日志")
    lid = 0
    for day in _days(date(2024, 1, 1), 182):
        for pr in press.rows:
            for shift in ("白班", "夜班"):
                if rng.random() < 0.2:
                    continue
                lid += 1
                m = rng.choice(molds.rows)
                shots = rng.randint(600, 1500)
                parts = shots * m[2]
                rej = int(parts * rng.uniform(0.002, 0.04))
                log.rows.append((lid, pr[0], m[0], day, shift, shots, parts - rej, rej, round(rng.uniform(18, 45), 1)))
    maint = Tab("maintOrder", [Col("orderId", "int", pk=True), Col("pressId", "text"), Col("openedAt", "timestamp"),
                               Col("category", "text"), Col("laborHours", "float", "工时"),
                               Col("sparePartCost", "float", "备件费用")], "维修工单")
    for oid in range(1, 161):
        opened = datetime(2024, 1, 1) + timedelta(minutes=rng.randint(0, 182 * 24 * 60))
        maint.rows.append((oid, rng.choice(press.rows)[0], opened, rng.choice(["preventive", "corrective"]),
                           round(rng.uniform(0.5, 12), 1), round(rng.uniform(0, 3000), 2)))
    return [press, molds, log, maint]


def pharma() -> list[Tab]:
    rng = random.Random(66)
    equip = Tab("EQUIP_MASTER", [Col("EQUIP_NO", "text", pk=True), Col("EQUIP_DESC", "text"),
                                 Col("AREA_CODE", "text"), Col("EQUIP_CLASS", "text")])
    equip.rows = [("GR-01", "High shear granulator 1", "GRN", "granulator"),
                  ("GR-02", "High shear granulator 2", "GRN", "granulator"),
                  ("TP-01", "Rotary tablet press 1", "CMP", "tablet press"),
                  ("TP-02", "Rotary tablet press 2", "CMP", "tablet press"),
                  ("CT-01", "Film coater 1", "CTG", "coater"), ("PK-01", "Blister packer 1", "PKG", "packer"),
                  ("PK-02", "Blister packer 2", "PKG", "packer"), ("TP-03", "Rotary tablet press 3", "CMP",
                                                                     "tablet press")]
    batch = Tab("BATCH_RECORD", [Col("BATCH_NO", "text", pk=True), Col("PRODUCT_CODE", "text"),
                                 Col("EQUIP_NO", "text"), Col("MFG_DATE", "date"), Col("BATCH_SIZE_KG", "float"),
                                 Col("YIELD_KG", "float"), Col("DEVIATION_CNT", "int"),
                                 Col("RELEASE_STATUS", "text")])
    for n in range(1, 301):
        size = rng.choice([200.0, 400.0, 600.0])
        status = rng.choices(["released", "rejected", "quarantine"], [0.9, 0.04, 0.06])[0]
        batch.rows.append((f"B24-{n:04d}", rng.choice(["PX-10", "PX-20", "PX-30"]), rng.choice(equip.rows)[0],
                           date(2024, 1, 1) + timedelta(days=rng.randint(0, 181)), size,
                           round(size * rng.uniform(0.9, 0.995), 1), rng.choice([0, 0, 0, 1, 1, 2, 3]), status))
    env = Tab("ENV_MONITOR", [Col("READING_ID", "int", pk=True), Col("ROOM_NO", "text"), Col("READ_TS", "timestamp"),
                              Col("TEMP_C", "float"), Col("RH_PCT", "float"), Col("PARTICLE_CNT", "int")])
    rid = 0
    for day in _days(date(2024, 1, 1), 182):
        for hour in (0, 6, 12, 18):
            for room in ("R101", "R102", "R201"):
                rid += 1
                env.rows.append((rid, room, datetime(day.year, day.month, day.day, hour), round(rng.uniform(18, 24), 1),
                                 round(rng.uniform(35, 55), 1), rng.randint(500, 3500)))
    return [equip, batch, env]


def cn() -> list[Tab]:
    rng = random.Random(77)
    equip = Tab("设备", [Col("设备编号", "text", pk=True), Col("设备名称", "text"), Col("车间", "text"),
                       Col("设备类型", "text")])
    equip.rows = [("E01", "空压机1号", "一车间", "空压机"), ("E02", "空压机2号", "二车间", "空压机"),
                  ("E03", "冷却塔1号", "二车间", "冷却塔"), ("E04", "注塑机1号", "一车间", "注塑机"),
                  ("E05", "注塑机2号", "一车间", "注塑机"), ("E06", "烘干机1号", "二车间", "烘干机")]
    energy = Tab("能耗记录", [Col("记录编号", "int", pk=True), Col("设备编号", "text"), Col("日期", "date"),
                          Col("用电量", "float"), Col("用水量", "float")])
    rid = 0
    for day in _days(date(2024, 1, 1), 182):
        for e in equip.rows:
            rid += 1
            energy.rows.append((rid, e[0], day, round(rng.uniform(100, 700), 1), round(rng.uniform(0, 20), 2)))
    faults = Tab("故障记录", [Col("故障编号", "int", pk=True), Col("设备编号", "text"), Col("发生时间", "timestamp"),
                          Col("故障类型", "text"), Col("停机分钟", "int")])
    for fid in range(1, 241):
        faults.rows.append((fid, rng.choice(equip.rows)[0],
                            datetime(2024, 1, 1) + timedelta(minutes=rng.randint(0, 182 * 24 * 60)),
                            rng.choice(["电气故障", "机械故障", "液压故障"]), rng.randint(10, 300)))
    return [equip, energy, faults]


def auto() -> list[Tab]:
    rng = random.Random(88)
    stations = Tab("stations", [Col("station_code", "text", "工位编号", pk=True),
                                Col("station_name", "text", "工位名称"),
                                Col("line_name", "text", "产线"), Col("station_type", "text", "工位类型")], "装配工位")
    stations.rows = [("ST10", "前桥拧紧", "总装一线", "拧紧"), ("ST20", "后桥拧紧", "总装一线", "拧紧"),
                     ("ST30", "车门装配", "总装一线", "装配"), ("ST40", "座椅拧紧", "总装二线", "拧紧"),
                     ("ST50", "仪表板装配", "总装二线", "装配"), ("ST60", "终检", "总装二线", "检验")]
    vehicles = Tab("vehicles", [Col("vin", "text", "车架号", pk=True), Col("model", "text", "车型"),
                                Col("color", "text", "颜色"), Col("build_date", "date", "下线日期")], "整车")
    for n in range(1, 601):
        vehicles.rows.append((f"LVIN{n:05d}", rng.choice(["A1", "B2", "C3"]), rng.choice(["white", "black", "red"]),
                              date(2024, 1, 1) + timedelta(days=rng.randint(0, 181))))
    torque = Tab("torque_results", [Col("result_id", "int", pk=True), Col("station_code", "text"),
                                    Col("vin", "text"), Col("measured_at", "timestamp", "测量时间"),
                                    Col("torque_nm", "float", "扭矩（牛米）"), Col("angle_deg", "float", "角度"),
                                    Col("ok_flag", "text", "判定结果")], "拧紧结果")
    rid = 0
    for v in vehicles.rows:
        for st in ("ST10", "ST20", "ST40"):
            rid += 1
            t = round(rng.gauss(120, 6), 1)
            torque.rows.append((rid, st, v[0], datetime(v[3].year, v[3].month, v[3].day, rng.randint(6, 22),
                                                        rng.randint(0, 59)),
                                t, round(rng.uniform(20, 60), 1), "NOK" if abs(t - 120) > 12 else "OK"))
    tickets = Tab("rework_tickets", [Col("ticket_id", "int", pk=True), Col("vin", "text"), Col("station_code", "text"),
                                     Col("opened_on", "date", "开单日期"), Col("defect_code", "text", "缺陷"),
                                     Col("rework_minutes", "int", "返工时长（分钟）"),
                                     Col("cost_cny", "float", "返工成本")],
                     "返工单")
    for tid in range(1, 181):
        v = rng.choice(vehicles.rows)
        tickets.rows.append((tid, v[0], rng.choice(stations.rows)[0], v[3] + timedelta(days=rng.randint(0, 2)),
                             rng.choice(["loose bolt", "missing clip", "scratch", "misalignment"]),
                             rng.randint(5, 90), round(rng.uniform(20, 800), 2)))
    return [stations, vehicles, torque, tickets]


PLANTS = {"chem": chem, "smt": smt, "food": food, "wms": wms, "mold": mold, "pharma": pharma, "cn": cn, "auto": auto}

_TYPES = {
    "duckdb": {"text": "VARCHAR", "int": "INTEGER", "float": "DOUBLE", "date": "DATE", "timestamp": "TIMESTAMP"},
    "postgres": {"text": "VARCHAR(64)", "int": "INTEGER", "float": "DOUBLE PRECISION", "date": "DATE",
                 "timestamp": "TIMESTAMP"},
    "mysql": {"text": "VARCHAR(64)", "int": "INT", "float": "DOUBLE", "date": "DATE", "timestamp": "DATETIME"},
    "sqlite": {"text": "TEXT", "int": "INTEGER", "float": "REAL", "date": "DATE", "timestamp": "TIMESTAMP"},
}


def ddl(tables: list[Tab], dialect: str) -> list[str]:
    """CREATE TABLE statements (with keys and comments the dialect can hold)."""
    q = "`" if dialect == "mysql" else '"'
    statements = []
    for t in tables:
        lines = []
        for c in t.cols:
            line = f"{q}{c.name}{q} {_TYPES[dialect][c.kind]}"
            if c.pk:
                line += " PRIMARY KEY"
            if c.ref and dialect in ("postgres", "sqlite"):
                rt, rc = c.ref.split(".")
                line += f" REFERENCES {q}{rt}{q}({q}{rc}{q})"
            if c.comment and dialect == "mysql":
                line += " COMMENT '" + c.comment.replace("'", "''") + "'"
            lines.append(line)
        if dialect in ("duckdb", "mysql"):
            for c in t.cols:
                if c.ref:
                    rt, rc = c.ref.split(".")
                    lines.append(f"FOREIGN KEY ({q}{c.name}{q}) REFERENCES {q}{rt}{q}({q}{rc}{q})")
        if dialect == "sqlite":
            body = ""
            for i, line in enumerate(lines):
                comma = "," if i < len(lines) - 1 else ""
                comment = t.cols[i].comment if i < len(t.cols) else ""
                body += f"  {line}{comma}" + (f" -- {comment}" if comment else "") + "\n"
            head = f" -- {t.comment}" if t.comment else ""
            statements.append(f'CREATE TABLE "{t.name}" ({head}\n{body})')
        else:
            tail = f" COMMENT='{t.comment}'" if dialect == "mysql" and t.comment else ""
            statements.append(f"CREATE TABLE {q}{t.name}{q} ({', '.join(lines)}){tail}")
        if dialect in ("duckdb", "postgres"):
            if t.comment:
                statements.append(f"COMMENT ON TABLE \"{t.name}\" IS '{t.comment}'")
            for c in t.cols:
                if c.comment:
                    statements.append(f"COMMENT ON COLUMN \"{t.name}\".\"{c.name}\" IS '{c.comment}'")
    return statements


def load(plant: str, dialect: str, target: str, database: str | None = None) -> str:
    """Create ``plant`` in ``target`` (a file for duckdb/sqlite, a server URL prefix otherwise, where the
    database ``database`` (default ``nl2sql_<plant>``) is dropped and created); return its URL."""
    tables = PLANTS[plant]()
    if dialect == "duckdb":
        from pathlib import Path

        import duckdb

        Path(target).unlink(missing_ok=True)
        con = duckdb.connect(target)
        for statement in ddl(tables, dialect):
            con.execute(statement)
        import pandas as pd

        for t in tables:
            frame = pd.DataFrame(t.rows, columns=[c.name for c in t.cols])  # noqa: F841 - read by DuckDB below
            con.execute(f'INSERT INTO "{t.name}" SELECT * FROM frame')
        con.close()
        return f"duckdb:///{target}"
    if dialect == "sqlite":
        import sqlite3
        from pathlib import Path

        Path(target).unlink(missing_ok=True)
        con = sqlite3.connect(target)
        for statement in ddl(tables, dialect):
            con.execute(statement)
        for t in tables:
            rows = [tuple(v.isoformat(sep=" ") if isinstance(v, datetime) else v.isoformat()
                          if isinstance(v, date) else v for v in r) for r in t.rows]
            con.executemany(f'INSERT INTO "{t.name}" VALUES ({", ".join("?" * len(t.cols))})', rows)
        con.commit()
        con.close()
        return f"sqlite:///{target}"
    from sqlalchemy import create_engine, text

    database = database or f"nl2sql_{plant}"
    if dialect == "postgres":
        admin = create_engine(target.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {database}"))
            c.execute(text(f"CREATE DATABASE {database}"))
        admin.dispose()
        url = f"{target}/{database}"
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    else:
        admin = create_engine(target.replace("mysql://", "mysql+pymysql://") + "/")
        with admin.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {database}"))
            c.execute(text(f"CREATE DATABASE {database} CHARACTER SET utf8mb4"))
        admin.dispose()
        url = f"{target}/{database}?charset=utf8mb4"
        engine = create_engine(url.replace("mysql://", "mysql+pymysql://"))
    q = "`" if dialect == "mysql" else '"'
    with engine.begin() as c:
        for statement in ddl(tables, dialect):
            c.exec_driver_sql(statement)
        for t in tables:
            marks = ", ".join(["%s"] * len(t.cols))
            c.exec_driver_sql(f"INSERT INTO {q}{t.name}{q} VALUES ({marks})", t.rows)
    engine.dispose()
    return url
