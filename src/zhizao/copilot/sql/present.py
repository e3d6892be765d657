"""Chart specification and one-sentence summary for a result.

Chart spec (plain JSON, rendered by the console with ECharts)::

    {"type": "bar" | "line" | "pie" | "table" | "number",
     "x": <column name or null>, "y": [<numeric column names>], "title": <question>}

- ``line``: a time axis (dates, months…) against numbers;
- ``bar``: a category column against numbers (at most 50 categories);
- ``pie``: shares (占比/share questions, or a single measure over ≤ 6 categories that are parts of a whole);
- ``number``: one row with one number;
- ``table``: anything else (listings, many columns).
"""

from __future__ import annotations

import re
from typing import Any

_TIME_TEXT = re.compile(r"^\d{4}(-\d{2}(-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?)?|-W\d{2}|-Q[1-4])?$")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def chart_spec(columns: list[str], rows: list[list[Any]], *, share: bool = False, title: str = "") -> dict:
    if not rows or not columns:
        return {"type": "table", "x": None, "y": [], "title": title}
    numeric = [i for i in range(len(columns)) if all(_is_number(r[i]) or r[i] is None for r in rows)
               and any(_is_number(r[i]) for r in rows)]
    if len(rows) == 1 and len(columns) == 1 and numeric:
        return {"type": "number", "x": None, "y": [columns[0]], "title": title}
    others = [i for i in range(len(columns)) if i not in numeric]
    if len(others) != 1 or not numeric:
        return {"type": "table", "x": None, "y": [columns[i] for i in numeric], "title": title}
    x = others[0]
    y = [columns[i] for i in numeric]
    if all(isinstance(r[x], str) and _TIME_TEXT.match(r[x]) for r in rows if r[x] is not None) and len(rows) > 1:
        return {"type": "line", "x": columns[x], "y": y, "title": title}
    if share and len(y) == 1 and len(rows) <= 8 and all((r[numeric[0]] or 0) >= 0 for r in rows):
        return {"type": "pie", "x": columns[x], "y": y, "title": title}
    if len(rows) <= 50:
        return {"type": "bar", "x": columns[x], "y": y, "title": title}
    return {"type": "table", "x": None, "y": y, "title": title}


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if abs(value) < 1 and value != 0:
            return f"{value:.4g}"
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def summarise(columns: list[str], rows: list[list[Any]], lang: str, *, truncated: bool = False,
              ratio: bool = False, labels: dict[str, str] | None = None) -> str:
    """A short sentence in the question's language; ``labels`` gives readable names for result columns."""
    zh = lang == "zh"
    columns = [(labels or {}).get(c, c) for c in columns]
    if not rows:
        return "没有符合条件的数据。" if zh else "No rows match."
    def fmt_value(v: Any) -> str:
        return f"{v * 100:.2f}%" if isinstance(v, float) and ratio else _fmt(v)

    if len(rows) == 1 and len(columns) == 1:
        return (f"结果：{fmt_value(rows[0][0])}。" if zh else f"Result: {fmt_value(rows[0][0])}.")
    numeric = [i for i in range(len(columns)) if all(_is_number(r[i]) or r[i] is None for r in rows)
               and any(_is_number(r[i]) for r in rows)]
    labels = [i for i in range(len(columns)) if i not in numeric]
    more = ("（仅显示前 {n} 行）" if zh else " (first {n} rows shown)").format(n=len(rows)) if truncated else ""
    if len(rows) == 1:
        parts = ", ".join(f"{columns[i]} = {fmt_value(rows[0][i]) if i in numeric else rows[0][i]}"
                          for i in range(len(columns)))
        return (f"结果：{parts}。" if zh else f"Result: {parts}.") + more
    if numeric and labels:
        m = numeric[-1]
        label = labels[0]
        valued = [r for r in rows if _is_number(r[m])]
        if valued:
            top = max(valued, key=lambda r: r[m])
            low = min(valued, key=lambda r: r[m])
            if zh:
                return (f"共 {len(rows)} 项；{columns[m]} 最高的是 {top[label]}（{fmt_value(top[m])}），"
                        f"最低的是 {low[label]}（{fmt_value(low[m])}）。{more}")
            return (f"{len(rows)} rows; highest {columns[m]}: {top[label]} ({fmt_value(top[m])}), "
                    f"lowest: {low[label]} ({fmt_value(low[m])}).{more}")
    return (f"共 {len(rows)} 行。{more}" if zh else f"{len(rows)} rows.{more}")
