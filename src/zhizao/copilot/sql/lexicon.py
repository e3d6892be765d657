"""Built-in bilingual manufacturing vocabulary: how words become concepts.

Schema names (English snake_case, abbreviations, pinyin), comments (Chinese or English) and
questions are all reduced to the same *concepts* (short English stems such as ``machine``,
``output``, ``defect``) so that 产量, "output", ``out_qty`` and ``chanliang`` meet. A glossary
file adds plant-specific words on top (see glossary.py).
"""

from __future__ import annotations

import re
from functools import cache

# abbreviations seen in column names → words
ABBREVIATIONS: dict[str, str] = {
    "qty": "quantity", "qnty": "quantity", "amt": "amount", "dt": "date", "ts": "time", "tm": "time",
    "mach": "machine", "mc": "machine", "mch": "machine", "eqp": "equipment", "equip": "equipment",
    "eq": "equipment", "dev": "device", "prod": "product", "prd": "product", "pdt": "product",
    "wo": "workorder", "num": "number", "no": "number", "nbr": "number", "desc": "description",
    "temp": "temperature", "tmp": "temperature", "cnt": "count", "dur": "duration", "min": "minute",
    "mins": "minute", "hr": "hour", "hrs": "hour", "sec": "second", "secs": "second", "wt": "weight",
    "pct": "percent", "wh": "warehouse", "whse": "warehouse", "loc": "location", "cust": "customer",
    "supp": "supplier", "sup": "supplier", "vend": "supplier", "vendor": "supplier", "insp": "inspection",
    "def": "defect", "dfct": "defect", "rej": "reject", "btch": "batch", "ln": "line", "shft": "shift",
    "stn": "station", "op": "operator", "opr": "operator", "emp": "employee", "dept": "department",
    "mat": "material", "matl": "material", "mtl": "material", "rm": "material", "inv": "inventory",
    "ord": "order", "po": "order", "so": "order", "ship": "shipment", "shp": "shipment", "veh": "vehicle",
    "dist": "distance", "km": "distance", "kg": "weight", "kwh": "energy", "pwr": "power",
    "elec": "energy", "yld": "yield", "avg": "average", "tot": "total", "plan": "plan", "pln": "plan",
    "act": "actual", "std": "standard", "spec": "specification", "cat": "category", "grp": "group",
    "addr": "address", "tel": "phone", "cap": "capacity", "vol": "volume", "lvl": "level", "stat": "status",
    "sts": "status", "err": "error", "alm": "alarm", "maint": "maintenance", "mnt": "maintenance",
    "rpr": "repair", "ng": "defect", "ok": "good", "pcs": "quantity", "cyc": "cycle", "ct": "cycle",
    "rh": "humidity", "pres": "pressure", "press": "pressure", "spd": "speed", "rpm": "speed", "reac": "reactor",
    "rx": "reactor", "recv": "receive", "rcv": "receive", "dlv": "delivery", "dlvr": "delivery",
    "pkg": "package", "pack": "package", "lot": "batch", "sku": "product", "item": "product",
    "start": "start", "st": "start", "end": "end", "fin": "end", "beg": "start", "begin": "start",
    "nm": "name", "cd": "code", "typ": "type", "ty": "type", "yr": "year", "mon": "month", "mth": "month",
    "wk": "week", "dy": "day", "hh": "hour", "resp": "response", "rsn": "reason", "cause": "reason",
    "fac": "plant", "plt": "plant", "fab": "plant", "ws": "workshop", "wks": "workshop",
}

# pinyin words seen in column names → concepts
PINYIN: dict[str, str] = {
    "shebei": "machine", "jitai": "machine", "chanxian": "line", "xianti": "line", "chanpin": "product",
    "wuliao": "material", "chanliang": "output", "shuliang": "quantity", "riqi": "date", "shijian": "time",
    "banci": "shift", "buliang": "defect", "hege": "good", "lianghao": "good", "liangpin": "good",
    "baofei": "scrap", "nenghao": "energy", "dianliang": "energy", "yongdian": "energy", "tingji": "downtime",
    "yuanyin": "reason", "shichang": "duration", "jihua": "plan", "yunxing": "run", "kaiji": "run",
    "gongdan": "workorder", "dingdan": "order", "kehu": "customer", "gongyingshang": "supplier",
    "chengben": "cost", "jiage": "price", "danjia": "price", "wendu": "temperature", "yali": "pressure",
    "pici": "batch", "jianyan": "inspection", "zhijian": "inspection", "cangku": "warehouse",
    "kucun": "inventory", "zhongliang": "weight", "mingcheng": "name", "bianhao": "id", "bianma": "code",
    "leixing": "type", "leibie": "category", "zhuangtai": "status", "chejian": "workshop", "gongxu": "process",
    "gongwei": "station", "peifang": "recipe", "yuanliao": "material", "shoulv": "yield", "jine": "amount",
    "xiaoshou": "sales", "weixiu": "repair", "baoyang": "maintenance", "guzhang": "failure", "baojing": "alarm",
    "dengji": "level", "caozuoyuan": "operator", "yuangong": "employee", "bumen": "department",
    "kaishi": "start", "jieshu": "end", "fenzhong": "minute", "xiaoshi": "hour", "sudu": "speed",
    "chengzhong": "weight", "chuku": "outbound", "ruku": "inbound", "fahuo": "shipment", "cheliang": "vehicle",
    "siji": "driver", "juli": "distance", "xinghao": "model", "shuliangs": "quantity", "dianhao": "energy",
    "rongliang": "capacity", "zhonglei": "category", "guige": "specification", "chanchu": "output",
    "shiji": "actual", "mubiao": "target", "feipin": "scrap", "quexian": "defect", "luhao": "furnace",
    "lu": "furnace", "fanyingfu": "reactor", "guan": "tank", "xiangshu": "quantity", "tuopan": "pallet",
    "huowei": "location", "kuwei": "location", "jianhuo": "pick", "yunshu": "transport", "chengpin": "product",
    "hao": "id", "ma": "code", "ming": "name", "lei": "type", "ri": "date", "yue": "month", "nian": "year",
}

# Chinese words → concepts (longest match first when scanning text)
ZH: dict[str, str] = {
    "设备": "machine", "机台": "machine", "机器": "machine", "机床": "machine", "台": "machine",
    "产线": "line", "生产线": "line", "线体": "line", "线别": "line", "线": "line", "产品": "product",
    "型号": "model", "物料": "material", "原料": "material", "原材料": "material", "材料": "material",
    "产量": "output", "产出": "output", "生产数量": "output", "生产量": "output", "出产": "output",
    "不良": "defect", "缺陷": "defect", "次品": "defect", "不合格": "defect", "瑕疵": "defect",
    "合格": "good", "良品": "good", "不良品": "defect", "合格品": "good", "不合格品": "defect", "良好": "good",
    "报废": "scrap", "废品": "scrap",
    "能耗": "energy", "用电": "energy", "电量": "energy", "耗电": "energy", "用电量": "energy", "电耗": "energy",
    "能源": "energy", "停机": "downtime", "停线": "downtime", "时长": "duration", "持续": "duration",
    "原因": "reason", "班次": "shift", "班": "shift", "日期": "date", "时间": "time", "计划": "plan",
    "运行": "run", "开机": "run", "运转": "run", "工单": "workorder", "订单": "order", "客户": "customer",
    "供应商": "supplier", "数量": "quantity", "件数": "quantity", "成本": "cost", "价格": "price",
    "单价": "price", "温度": "temperature", "压力": "pressure", "批次": "batch", "批号": "batch", "批": "batch",
    "检验": "inspection", "质检": "inspection", "检测": "inspection", "抽检": "inspection", "仓库": "warehouse",
    "库存": "inventory", "出库": "outbound", "入库": "inbound", "重量": "weight", "名称": "name", "名字": "name",
    "编号": "id", "编码": "code", "代码": "code", "代号": "code", "类型": "type", "类别": "category",
    "种类": "category", "分类": "category", "安装": "install", "车间": "workshop", "工序": "process",
    "工位": "station", "站": "station", "炉": "furnace", "反应釜": "reactor", "釜": "reactor", "收率": "yield",
    "产率": "yield", "得率": "yield", "配方": "recipe", "包装": "package", "箱": "case", "托盘": "pallet",
    "库位": "location", "货位": "location", "位置": "location", "拣货": "pick", "发货": "shipment",
    "发运": "shipment", "运输": "transport", "车辆": "vehicle", "司机": "driver", "距离": "distance",
    "里程": "distance", "金额": "amount", "销售": "sales", "销售额": "sales", "维修": "repair",
    "保养": "maintenance", "维护": "maintenance", "故障": "failure", "报警": "alarm", "告警": "alarm",
    "等级": "level", "级别": "level", "状态": "status", "操作员": "operator", "操作工": "operator",
    "员工": "employee", "工人": "employee", "人员": "employee", "部门": "department", "工厂": "plant",
    "厂区": "plant", "开始": "start", "结束": "end", "分钟": "minute", "小时": "hour", "秒": "second",
    "千瓦时": "energy", "耗能": "energy", "件": "quantity", "公斤": "weight", "千克": "weight", "吨": "weight",
    "速度": "speed", "转速": "speed", "容量": "capacity", "规格": "specification", "实际": "actual",
    "目标": "target", "标准": "standard", "周期": "cycle", "节拍": "cycle", "产能": "capacity",
    "电压": "voltage", "电流": "current", "功率": "power", "湿度": "humidity", "流量": "flow", "浓度": "concentration",
    "粘度": "viscosity", "厚度": "thickness", "长度": "length", "宽度": "width", "尺寸": "size", "直径": "diameter",
    "误差": "error", "偏差": "deviation", "返工": "rework", "返修": "rework", "投入": "input", "投料": "input",
    "损耗": "loss", "损失": "loss", "利用率": "utilization", "效率": "efficiency", "费用": "cost",
    "金额数": "amount", "收货": "receive", "到货": "receive", "交货": "delivery", "交付": "delivery",
    "送货": "delivery", "延误": "delay", "延迟": "delay", "准时": "ontime", "排放": "emission", "碳": "carbon",
    "水": "water", "气": "gas", "天然气": "gas", "蒸汽": "steam", "用水": "water", "焊接": "weld", "焊点": "weld",
    "贴片": "placement", "元件": "component", "器件": "component", "板": "board", "电路板": "board",
    "抛料": "reject", "拒收": "reject", "退货": "return", "投诉": "complaint", "地区": "zone", "区域": "zone",
    "城市": "city", "省": "province", "国家": "country", "年龄": "age", "工龄": "tenure", "工资": "salary",
    "次数": "count", "事件": "event", "记录": "record", "明细": "record", "读数": "reading", "测量": "measurement",
    "测量值": "value", "数值": "value", "值": "value", "描述": "description", "备注": "note", "结果": "result",
    "判定": "result", "检验员": "inspector", "型": "type", "模具": "mold", "刀具": "tool", "夹具": "fixture",
    "机种": "model", "料号": "product", "品名": "name", "品号": "product", "客户名": "customer",
    "单号": "id", "号": "id", "码": "code", "名": "name", "类": "type", "产": "output",
    "年份": "year", "月份": "month", "周": "week", "生产": "production", "加工": "process", "作业": "operation",
    "出货": "shipment", "装运": "shipment", "订货": "order", "采购": "purchase", "需求": "demand",
    "预测": "forecast", "库龄": "age", "周转": "turnover", "温度值": "temperature", "区": "zone",
    "用量": "usage", "使用量": "usage", "消耗量": "usage", "耗用": "usage", "消耗": "usage", "参数": "parameter",
    "承运商": "carrier", "承运人": "carrier", "物流公司": "carrier", "快递公司": "carrier", "运费": "freight",
    "运输费": "freight", "货运": "freight", "发货量": "shipment", "客户名称": "customer", "库存量": "inventory",
}

# English words → concepts (after lower-casing and stemming)
EN: dict[str, str] = {
    "equipment": "machine", "device": "machine", "asset": "machine", "machine": "machine", "tool": "tool",
    "unit": "unit", "produced": "output", "production": "production", "output": "output", "yield": "yield",
    "throughput": "output", "made": "output", "make": "output", "produce": "output", "manufactured": "output",
    "defect": "defect", "defective": "defect", "reject": "reject", "rejected": "reject", "nonconforming": "defect",
    "bad": "defect", "faulty": "defect", "ng": "defect", "good": "good", "pass": "good", "passed": "good",
    "conforming": "good", "scrap": "scrap", "scrapped": "scrap", "waste": "scrap", "energy": "energy",
    "power": "power", "electricity": "energy", "kwh": "energy", "consumption": "energy", "consumed": "energy",
    "downtime": "downtime", "stoppage": "downtime", "stop": "downtime", "outage": "downtime",
    "duration": "duration", "long": "duration", "reason": "reason", "cause": "reason", "caused": "reason",
    "shift": "shift", "date": "date", "day": "day", "time": "time", "plan": "plan", "planned": "plan",
    "scheduled": "plan", "run": "run", "running": "run", "runtime": "run", "uptime": "run",
    "operating": "run", "workorder": "workorder", "order": "order", "customer": "customer", "client": "customer",
    "supplier": "supplier", "vendor": "supplier", "quantity": "quantity", "amount": "amount", "cost": "cost",
    "price": "price", "temperature": "temperature", "pressure": "pressure", "batch": "batch", "lot": "batch",
    "inspection": "inspection", "inspected": "inspection", "warehouse": "warehouse", "inventory": "inventory",
    "stock": "inventory", "weight": "weight", "mass": "weight", "name": "name", "id": "id", "identifier": "id",
    "code": "code", "type": "type", "kind": "type", "category": "category", "class": "category",
    "installation": "install", "installed": "install", "install": "install", "workshop": "workshop",
    "process": "process", "operation": "operation", "station": "station", "furnace": "furnace",
    "reactor": "reactor", "recipe": "recipe", "material": "material", "package": "package",
    "packaging": "package", "packed": "package", "case": "case", "carton": "case", "pallet": "pallet",
    "location": "location", "bin": "location", "slot": "location", "pick": "pick", "picking": "pick",
    "shipment": "shipment", "shipped": "shipment", "shipping": "shipment", "transport": "transport",
    "vehicle": "vehicle", "truck": "vehicle", "driver": "driver", "distance": "distance", "mileage": "distance",
    "sales": "sales", "revenue": "sales", "repair": "repair", "maintenance": "maintenance", "failure": "failure",
    "fault": "failure", "breakdown": "failure", "alarm": "alarm", "alert": "alarm", "level": "level",
    "grade": "level", "status": "status", "state": "status", "operator": "operator", "employee": "employee",
    "worker": "employee", "staff": "employee", "department": "department", "plant": "plant", "site": "plant",
    "factory": "plant", "start": "start", "began": "start", "end": "end", "finish": "end", "minute": "minute",
    "hour": "hour", "second": "second", "speed": "speed", "capacity": "capacity", "specification": "specification",
    "actual": "actual", "target": "target", "standard": "standard", "cycle": "cycle", "voltage": "voltage",
    "current": "current", "humidity": "humidity", "flow": "flow", "concentration": "concentration",
    "viscosity": "viscosity", "thickness": "thickness", "length": "length", "width": "width", "size": "size",
    "diameter": "diameter", "error": "error", "deviation": "deviation", "rework": "rework", "input": "input",
    "loss": "loss", "utilization": "utilization", "efficiency": "efficiency", "receive": "receive",
    "received": "receive", "receipt": "receive", "delivery": "delivery", "delivered": "delivery",
    "delay": "delay", "late": "delay", "delayed": "delay", "ontime": "ontime", "emission": "emission",
    "carbon": "carbon", "co2": "carbon", "water": "water", "gas": "gas", "steam": "steam", "weld": "weld",
    "placement": "placement", "component": "component", "part": "component", "board": "board", "pcb": "board",
    "return": "return", "complaint": "complaint", "region": "zone", "city": "city", "country": "country",
    "age": "age", "salary": "salary", "event": "event", "record": "record", "reading": "reading",
    "measurement": "measurement", "measured": "measurement", "value": "value", "description": "description",
    "note": "note", "result": "result", "inspector": "inspector", "mold": "mold", "mould": "mold",
    "fixture": "fixture", "model": "model", "year": "year", "month": "month", "week": "week", "line": "line",
    "product": "product", "sku": "product", "item": "product", "goods": "product", "purchase": "purchase",
    "demand": "demand", "forecast": "forecast", "turnover": "turnover", "zone": "zone", "area": "zone",
    "count": "count", "number": "number", "total": "total", "volume": "volume", "lead": "lead",
    "family": "family", "group": "group", "series": "family", "tank": "tank", "phase": "phase", "step": "step",
    "outbound": "outbound", "inbound": "inbound", "dispatch": "shipment", "dispatched": "shipment",
    "route": "route", "trip": "trip", "order_line": "order", "pieces": "quantity", "piece": "quantity",
    "unitcost": "cost", "spend": "cost", "spent": "cost", "expense": "cost", "consume": "energy",
    "used": "usage", "use": "usage", "usage": "usage", "kilowatt": "energy", "temp": "temperature",
    "parameter": "parameter", "param": "parameter",
    "carrier": "carrier", "freight": "freight", "haulier": "carrier", "courier": "carrier",
}

# English phrases read as one word
EN_PHRASES: dict[tuple[str, str], str] = {
    ("work", "order"): "workorder", ("work", "orders"): "workorder", ("job", "order"): "workorder",
    ("production", "order"): "workorder", ("production", "orders"): "workorder", ("purchase", "order"): "order",
    ("sales", "order"): "order", ("cycle", "time"): "cycle", ("lead", "time"): "lead",
}

# function words: never linked, never "not understood"
EN_STOP = set("""a an the of for in on at by to from with and or is are was were be been being do does did
what which who whom whose how many much show list give me tell get find all each every per there their its
it this that these those please any have has had than then as into during between across over under
what's whats i we our you your my one ones top most least more less highest lowest largest smallest biggest
total average avg sum number count maximum minimum max min mean overall sort sorted order ordered rank ranked
by ascending descending asc desc only just also what about how about and what than broken down
break within out value values trend trends day daily month monthly year yearly week weekly quarter quarterly
first last previous this next ago since until till before after up today yesterday through both either
distinct different unique ratio rate share percentage percent proportion vs versus compared compare
not no equal greater larger bigger smaller fewer higher lower above below exceeding exceed exceeds least
at least most over under each per s whose where when had having made got""".split())

ZH_STOP = ["的", "是", "多少", "有哪些", "哪些", "哪个", "哪台", "哪条", "哪种", "哪", "什么", "吗", "呢", "了",
           "请", "查询", "查看", "显示", "列出", "给出", "告诉我", "一下", "统计", "共", "一共", "总共", "在", "和",
           "与",
           "及", "或", "对", "中", "里", "内", "期间", "按", "每", "各", "个", "位", "条", "次", "份", "最", "总",
           "平均", "合计", "分别", "情况", "如何", "怎样", "怎么样", "有", "为", "从", "到", "至", "所有", "全部",
           "以上", "以下", "超过", "大于", "小于", "低于", "高于", "不少于", "不超过", "前", "后", "排名", "排序",
           "那", "那么", "只看", "仅", "只", "呢", "再", "还有", "趋势", "变化", "占比", "比例", "比率", "率", "？",
           "?", "，", ",", "。", "、", "（", "）", "(", ")", "：", ":", "计", "数", "们", "我", "想", "知道", "看看",
           "去年", "今年", "本月", "上月", "上个月", "上周", "本周", "分组", "降序", "升序", "从高到低", "从低到高",
           "最高", "最低", "最多", "最少", "最大", "最小", "最长", "最短", "上半年", "下半年", "季度", "每天", "每月",
           "每周", "每年", "每日", "是否", "哪一", "哪几", "几", "这", "该", "其", "按照", "根据", "由", "被", "将",
           "所", "之", "前十", "以来", "至今", "截至", "那么", "分", "用", "过", "又", "也", "就", "都", "时"]


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+(?:\.\d+)?")


def split_identifier(name: str) -> list[str]:
    """``outputQty`` / ``OUTPUT_QTY`` / ``out-qty2`` → ``["output", "qty", "2"]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", spaced) if w]


def stem(word: str) -> str:
    """A light English stemmer good enough for schema words (plural and a few suffixes)."""
    w = word.lower()
    if w in EN or w in ABBREVIATIONS or len(w) <= 3:
        return w
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("xes", "x")):
        if w.endswith(suffix):
            return w[: -len(suffix)] + repl
    if w.endswith("s") and (not w.endswith(("ss", "us", "is")) or w[:-1] in EN or w[:-1] in ABBREVIATIONS):
        return w[:-1]
    return w


def word_concepts(word: str) -> set[str]:
    """Concepts of one English/abbreviation/pinyin word."""
    w = word.lower()
    found: set[str] = set()
    s = stem(w)
    for form in {w, s}:
        if form in EN:
            found.add(EN[form])
        if form in ABBREVIATIONS:
            expanded = ABBREVIATIONS[form]
            found.add(EN.get(expanded, expanded))
        if form in PINYIN:
            found.add(PINYIN[form])
    if not found and not w.isdigit():
        found.add(s)
    return found


@cache
def _zh_keys() -> list[str]:
    return sorted(ZH, key=len, reverse=True)


def zh_concepts(text: str) -> set[str]:
    """Concepts of the Chinese dictionary words in ``text`` (longest match first, left to right). One-character
    words (台, 件, 线) count only in short texts: inside longer ones they are usually part of another word."""
    found: set[str] = set()
    i = 0
    while i < len(text):
        for key in _zh_keys():
            if len(key) == 1 and len(text) > 2:
                continue
            if text.startswith(key, i):
                found.add(ZH[key])
                i += len(key)
                break
        else:
            i += 1
    return found


def has_cjk(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


def text_concepts(text: str) -> set[str]:
    """Concepts of a free text (comment, glossary entry): English words and Chinese dictionary words."""
    found: set[str] = set()
    for word in _WORD.findall(text):
        if word.lower() not in EN_STOP and not word.isdigit():
            found |= word_concepts(word)
    found |= zh_concepts(text)
    return found


def identifier_concepts(name: str) -> set[str]:
    """Concepts of a table/column name, including its pinyin or abbreviated parts."""
    found: set[str] = set()
    for part in split_identifier(name):
        if part.isdigit():
            continue
        found |= word_concepts(part)
    if has_cjk(name):
        found |= zh_concepts(name)
    return found
