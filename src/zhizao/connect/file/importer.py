"""File import: CSV and Parquet, previewed, mapped to plant tags and committed through ingest.

Layouts
    wide   a time column and one column per tag (``time, temperature, vibration...``);
    long   one point per row: time, tag and value columns, optionally a quality column.

Time stamps
    * ISO 8601 with an offset or ``Z`` is that instant;
    * a time without an offset (``2026-01-05 08:00:00``, or a Parquet timestamp without a
      time zone) is a local time of the site: the plant site's ``timezone`` (the site of
      the mapped tags), unless the ``timezone`` option names another. A local time that
      does not exist or is ambiguous at a daylight-saving change is a bad row;
    * numbers are Unix epoch seconds or milliseconds (``time_format`` ``epoch_s`` /
      ``epoch_ms``; guessed from their size when not given);
    * other layouts take a ``strptime`` format, e.g. ``%Y/%m/%d %H:%M:%S``; the
      preview guesses common ones.

Bad input never stops an import: a row whose time cannot be read, a cell that is not a
number for a numeric tag, a tag name that matches no plant tag, a bad quality, are
each rejected with their row number (1 = the first data row, below the header) and
column, counted per cause, and kept as dead letters. Blank cells are not data (a wide
file samples tags at different times) and are only counted.

``preview`` reads the head of a file; ``commit`` streams the whole file in chunks
into ``ctx.services["ingest"].submit`` (so accepted points are durable and published
like any connector's), reporting progress after each chunk.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from zhizao.connect.file.config import ImportOptions
from zhizao.connect.model import MAX_PAYLOAD_CHARS

if TYPE_CHECKING:
    from zhizao.assets.model import Plant, Tag
    from zhizao.core.context import Context

Source = bytes | Path
PREVIEW_ROWS = 5000  # rows read to infer types and discover the tag names of a long file
SAMPLE_ROWS = 20
CHUNK_ROWS = 50_000
MAX_BAD_ROWS = 100  # bad rows listed in a result (all are counted and dead-lettered)
MAX_TAG_NAMES = 2000  # distinct tag names of a long file shown in a preview
GUESS_SHARE = 0.7  # share of a sample that must fit a type or time format for the preview to guess it
STORE_WAIT_S = 60.0  # how long a finished import waits for its points to reach the historian

TIME_NAMES = ("time", "timestamp", "ts", "datetime", "date_time", "date", "时间", "时间戳", "日期", "采集时间")
TAG_NAMES = ("tag", "tagname", "tag_name", "tag_path", "path", "name", "point", "signal", "sensor", "item",
             "位号", "标签", "测点", "点位", "变量", "名称")
VALUE_NAMES = ("value", "v", "val", "值", "数值", "测量值")
QUALITY_NAMES = ("quality", "q", "质量", "品质")
# strptime layouts the preview tries when the times are not ISO 8601.
TIME_FORMATS = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S.%f", "%d.%m.%Y %H:%M:%S",
                "%d.%m.%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M",
                "%Y%m%d%H%M%S", "%Y%m%d %H:%M:%S", "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H时%M分%S秒")
TRUE_WORDS = {"true", "1", "yes", "on", "t", "y", "是", "开"}
FALSE_WORDS = {"false", "0", "no", "off", "f", "n", "否", "关"}
# An offset after a clock time (a bare date's "-05" is not one).
_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")
_NUMBER = re.compile(r"^\s*-?\d+(?:\.\d*)?\s*$")
_SEPARATORS = re.compile(r"[/.:|\\\s]+")


class FileImportError(ValueError):
    """A file that cannot be imported at all (unreadable, no time column...); names the file and field."""


@dataclass
class BadRow:
    row: int  # 1-based data row
    column: str
    cause: str
    detail: str
    value: str = ""
    tag: str | None = None
    line: int | None = None  # CSV: the line of the file (the header is line 1)

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "line": self.line, "column": self.column, "cause": self.cause,
                "detail": self.detail, "value": self.value, "tag": self.tag}


@dataclass
class ImportResult:
    file: str
    rows: int = 0
    points: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    empty: int = 0  # blank cells, not data
    bad_rows: list[BadRow] = field(default_factory=list)
    skipped_columns: list[str] = field(default_factory=list)
    stored: bool = True  # the accepted points are in the historian (else safe in the spool, on their way)
    duration_s: float = 0.0

    def add_bad(self, bad: BadRow) -> None:
        self.rejected[bad.cause] += 1
        if len(self.bad_rows) < MAX_BAD_ROWS:
            self.bad_rows.append(bad)

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "points": self.points, "accepted": self.accepted,
                "rejected": dict(self.rejected), "rejected_total": sum(self.rejected.values()),
                "empty": self.empty, "bad_rows": [b.as_json() for b in self.bad_rows],
                "skipped_columns": self.skipped_columns, "stored": self.stored,
                "duration_s": round(self.duration_s, 3)}


# ---- reading files ------------------------------------------------------------------------------------
def _open(src: Source) -> BinaryIO:
    return io.BytesIO(src) if isinstance(src, bytes) else open(src, "rb")  # the callers close it


def _head(src: Source, n: int = 65536) -> bytes:
    if isinstance(src, bytes):
        return src[:n]
    with open(src, "rb") as f:
        return f.read(n)


@dataclass
class FileFormat:
    kind: Literal["csv", "parquet"]
    encoding: str = "utf-8-sig"
    delimiter: str = ","


def sniff(src: Source, filename: str, delimiter: str | None = None) -> FileFormat:
    head = _head(src)
    if head.startswith(b"PAR1"):
        return FileFormat("parquet")
    if not head.strip():
        raise FileImportError(f"file: '{filename}' is empty")
    if b"\0" in head:
        raise FileImportError(f"file: '{filename}' is neither CSV text nor Parquet")
    encoding = "utf-8-sig"
    try:  # incremental: the head may end inside a multi-byte character
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        encoding = "gb18030"  # Chinese Excel exports
    if delimiter is None:
        text = head.decode(encoding, "replace")
        sample = "\n".join(text.splitlines()[:50])
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    return FileFormat("csv", encoding, delimiter)


def count_rows(src: Source, fmt: FileFormat) -> int:
    """Data rows in the file (CSV: lines after the header; quoted line breaks make this an estimate)."""
    if fmt.kind == "parquet":
        with _open(src) as f:
            return pq.ParquetFile(f).metadata.num_rows
    lines, last = 0, b"\n"
    with _open(src) as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"  # a last line without a line break
    return max(lines - 1, 0)


@dataclass
class Block:
    """Consecutive data rows of a file: the cells, each row's number (and CSV line), and malformed rows."""

    frame: pd.DataFrame
    rows: np.ndarray
    lines: np.ndarray | None = None
    bad: list[BadRow] = field(default_factory=list)


def _unique(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        out.append(f"{name}.{seen[name]}" if seen[name] else name)
        seen[name] += 1
    return out


def _csv_blocks(src: Source, fmt: FileFormat, filename: str, chunk_rows: int,
                nrows: int | None) -> Iterator[Block]:
    # Python's csv module rather than pandas: a malformed line becomes a bad row with its
    # line number instead of an error that stops the whole file.
    with _open(src) as raw:
        text = io.TextIOWrapper(raw, encoding=fmt.encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=fmt.delimiter, skipinitialspace=True)
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise FileImportError(f"file: '{filename}' has no header row")
        columns = _unique([h.strip() or f"column{i + 1}" for i, h in enumerate(header)])
        width = len(columns)
        records: list[list[str]] = []
        rows: list[int] = []
        lines: list[int] = []
        bad: list[BadRow] = []
        row = 0

        def block() -> Block:
            frame = pd.DataFrame(records, columns=columns, dtype=str) if records else pd.DataFrame(
                {c: pd.Series([], dtype=str) for c in columns})
            return Block(frame, np.array(rows, dtype=np.int64), np.array(lines, dtype=np.int64), list(bad))

        while nrows is None or row < nrows:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                row += 1
                bad.append(BadRow(row, "", "malformed", f"unreadable CSV: {exc}", line=reader.line_num))
                continue
            if not any(cell.strip() for cell in record):
                continue  # blank line
            row += 1
            if len(record) > width:
                if any(cell.strip() for cell in record[width:]):
                    bad.append(BadRow(row, "", "malformed", f"{len(record)} fields, the header has {width}",
                                      _excerpt(fmt.delimiter.join(record)), line=reader.line_num))
                    continue
                record = record[:width]  # trailing delimiters
            elif len(record) < width:
                record += [""] * (width - len(record))
            records.append(record)
            rows.append(row)
            lines.append(reader.line_num)
            if len(records) >= chunk_rows:
                yield block()
                records, rows, lines, bad = [], [], [], []
        if records or bad or row == 0:
            yield block()


def _parquet_blocks(src: Source, chunk_rows: int, nrows: int | None) -> Iterator[Block]:
    with _open(src) as f:
        pf = pq.ParquetFile(f)
        read = 0
        for batch in pf.iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            frame.columns = [str(c) for c in frame.columns]
            if nrows is not None:
                frame = frame.iloc[: nrows - read]
            yield Block(frame, np.arange(read + 1, read + 1 + len(frame)))
            read += len(frame)
            if nrows is not None and read >= nrows:
                return
        if read == 0:
            yield Block(pf.schema_arrow.empty_table().to_pandas(), np.zeros(0, dtype=np.int64))


def iter_blocks(src: Source, fmt: FileFormat, filename: str, chunk_rows: int = CHUNK_ROWS,
                nrows: int | None = None) -> Iterator[Block]:
    """The file in blocks of at most ``chunk_rows`` rows. CSV cells stay text ('' when blank);
    Parquet columns keep their types. At least one block, so the columns are always known."""
    if fmt.kind == "parquet":
        yield from _parquet_blocks(src, chunk_rows, nrows)
    else:
        yield from _csv_blocks(src, fmt, filename, chunk_rows, nrows)


def read_head(src: Source, filename: str, delimiter: str | None = None,
              nrows: int = PREVIEW_ROWS) -> tuple[FileFormat, Block]:
    fmt = sniff(src, filename, delimiter)
    try:
        head = next(iter_blocks(src, fmt, filename, chunk_rows=nrows, nrows=nrows))
    except FileImportError:
        raise
    except Exception as exc:  # pyarrow: not a Parquet file after all, a broken footer...
        raise FileImportError(f"file: cannot read '{filename}' as {fmt.kind}: {exc}") from None
    return fmt, head


# ---- cells ---------------------------------------------------------------------------------------------
def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or pd.api.types.is_datetime64_any_dtype(series))


def _blank(series: pd.Series) -> np.ndarray:
    if _is_text(series):
        return (series.isna() | (series.astype(str).str.strip() == "")).to_numpy()
    return series.isna().to_numpy()


def _excerpt(value: Any) -> str:
    return str(value)[:80]


def infer_type(series: pd.Series) -> tuple[str, int]:
    """(float | int | bool | time | string, number of non-blank cells that do not fit the type)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return "time", 0
    if pd.api.types.is_bool_dtype(series):
        return "bool", 0
    if pd.api.types.is_integer_dtype(series):
        return "int", 0
    if pd.api.types.is_float_dtype(series):
        finite = series.dropna()
        return ("int" if len(finite) and bool((finite == finite.round()).all()) else "float"), 0
    text = series[~_blank(series)].astype(str).str.strip()
    if text.empty:
        return "string", 0
    numbers = pd.to_numeric(text, errors="coerce")
    ok = numbers.notna()
    if ok.mean() >= GUESS_SHARE:
        whole = bool((numbers[ok] == numbers[ok].round()).all()) and not text[ok].str.contains(r"[.eE]").any()
        return ("int" if whole else "float"), int((~ok).sum())
    words = text.str.lower()
    if words.isin(TRUE_WORDS | FALSE_WORDS).all() and not words.isin({"0", "1"}).all():
        return "bool", 0
    if guess_time_format(text.head(200)) is not None and not text.str.fullmatch(r"\d+").all():
        return "time", 0
    return "string", 0


# ---- time stamps ------------------------------------------------------------------------------------
def guess_time_format(series: pd.Series) -> str | None:
    """iso8601, epoch_s, epoch_ms or a strptime format that reads most of the sample; None if none does."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return "iso8601"
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.dropna()
        return _epoch_unit(values) if len(values) else None
    text = series[~_blank(series)].astype(str).str.strip().head(200)
    if text.empty:
        return None
    numeric = text.str.match(_NUMBER)
    if numeric.mean() >= GUESS_SHARE:
        return _epoch_unit(pd.to_numeric(text[numeric]))
    if pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True).notna().mean() >= GUESS_SHARE:
        return "iso8601"
    for fmt in TIME_FORMATS:
        if pd.to_datetime(text, format=fmt, errors="coerce").notna().mean() >= GUESS_SHARE:
            return fmt
    return None


def _epoch_unit(values: pd.Series) -> str | None:
    magnitude = float(values.abs().median())
    if 1e8 <= magnitude < 1e11:
        return "epoch_s"
    if 1e11 <= magnitude < 1e14:
        return "epoch_ms"
    return None


def parse_times(series: pd.Series, time_format: str | None, tz: ZoneInfo) -> tuple[np.ndarray, np.ndarray, str]:
    """(epoch ms, good mask, reason for the bad ones). Blank cells are bad too."""
    n = len(series)
    ms = np.zeros(n, dtype=np.int64)
    good = ~_blank(series)
    fmt = time_format or "iso8601"
    reason = f"not a time in the format {fmt}"
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series if series.dt.tz is not None else series.dt.tz_localize(
            tz, ambiguous="NaT", nonexistent="NaT")
        reason = f"local time that does not exist or is ambiguous in {tz.key}"
    elif fmt in ("epoch_s", "epoch_ms"):
        numbers = pd.to_numeric(series.where(good), errors="coerce").to_numpy(dtype=float)
        ok = good & np.isfinite(numbers)
        scale = 1000.0 if fmt == "epoch_s" else 1.0
        ms[ok] = np.round(numbers[ok] * scale).astype(np.int64)
        return ms, ok, f"not a number of {'seconds' if scale > 1 else 'milliseconds'} since 1970"
    else:
        text = series.where(good, "").astype(str).str.strip()
        if fmt == "iso8601":
            has_offset = text.str.contains(_OFFSET) & good
            aware = pd.to_datetime(text.where(has_offset, None), format="ISO8601", utc=True, errors="coerce")
            naive = pd.to_datetime(text.where(~has_offset & good, None), format="ISO8601", errors="coerce")
        else:
            parsed = pd.to_datetime(text.where(good, None), format=fmt, errors="coerce", utc="%z" in fmt)
            aware, naive = (parsed, None) if "%z" in fmt else (None, parsed)
        local = (naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
                 if naive is not None else None)
        if aware is not None and local is not None:
            stamps = aware.where(aware.notna(), local)
        else:
            stamps = aware if aware is not None else local
        reason = f"not a time in the format {fmt} (or a local time that does not exist in {tz.key})"
    ok = good & stamps.notna().to_numpy()
    ms[ok] = stamps[ok].dt.as_unit("ms").astype("int64").to_numpy()
    return ms, ok, reason


def zone(name: str | None, plant: Plant, tags: list[str]) -> ZoneInfo:
    """The named zone, else the time zone of the site most of ``tags`` belong to, else the first site's."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise FileImportError(f"timezone: unknown time zone '{name}'") from None
    sites = {s.id: s.timezone for s in plant.enterprise.sites}
    counts = Counter(path.split("/")[1] for path in tags if path.count("/") >= 1)
    site = next((s for s, _ in counts.most_common() if s in sites), None)
    return ZoneInfo(sites[site] if site else (plant.enterprise.sites[0].timezone if sites else "UTC"))


# ---- matching names to plant tags -------------------------------------------------------------------
class TagMatcher:
    """Finds the plant tag a column or tag name means: by exact path, a path suffix, equipment +
    tag (ids or names, either language), or a tag id that only one piece of equipment has.
    Case does not matter. Returns (tag path, how) or (None, None)."""

    def __init__(self, plant: Plant) -> None:
        self.paths = {t.path.lower(): t.path for t in plant.tags()}
        self.suffixes: dict[str, set[str]] = {}
        self.by_equipment: dict[str, dict[str, set[str]]] = {}  # equipment key -> tag key -> paths
        self.by_tag: dict[str, set[str]] = {}
        for *_, eq in plant.iter_equipment():
            eq_keys = {eq.id.lower(), eq.name.en.lower().strip(), eq.name.zh.strip()} - {""}
            for tag in eq.all_tags:
                parts = tag.path.lower().split("/")
                for i in range(1, len(parts)):
                    self.suffixes.setdefault("/".join(parts[i:]), set()).add(tag.path)
                tag_keys = {tag.id.lower(), tag.description.en.lower().strip(), tag.description.zh.strip()} - {""}
                for key in tag_keys:
                    self.by_tag.setdefault(key, set()).add(tag.path)
                    for eq_key in eq_keys:
                        self.by_equipment.setdefault(eq_key, {}).setdefault(key, set()).add(tag.path)

    def match(self, name: str) -> tuple[str | None, str | None]:
        raw = str(name).strip()
        key = raw.lower()
        if key in self.paths:
            return self.paths[key], "path"
        normal = _SEPARATORS.sub("/", key).strip("/")
        found = self.suffixes.get(normal, set())
        if len(found) == 1 and "/" in normal:
            return next(iter(found)), "suffix"
        # equipment + tag, split at any separator (tag ids may contain '_', so try every split)
        for m in re.finditer(r"[/.:|\\\s_-]+", key):
            eq_key, tag_key = key[: m.start()].strip(), key[m.end():].strip()
            found = self.by_equipment.get(eq_key, {}).get(tag_key, set())
            if len(found) == 1:
                return next(iter(found)), "equipment_tag"
        found = self.by_tag.get(key, set())
        if len(found) == 1:
            return next(iter(found)), "tag_id"
        return None, None


# ---- preview ---------------------------------------------------------------------------------------------
def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {str(c).strip().lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _json_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, int | float | bool | str) else str(value)


def preview(src: Source, filename: str, plant: Plant, delimiter: str | None = None) -> dict[str, Any]:
    """What the file looks like and a ready-to-commit guess of how to import it.

    Returns ``{file, format, encoding, delimiter, rows, columns: [{name, type, bad, blank}], sample:
    [[...]], malformed, layout, time_column, time_format, timezone, naive_times, tag_column,
    value_column, quality_column, tag_names, mapping: {name: path|None}, matches: {name: how},
    options}``; ``options`` is null when no time column was found.
    """
    fmt, block = read_head(src, filename, delimiter)
    head = block.frame
    columns = list(head.columns)
    types = {c: infer_type(head[c]) for c in columns}
    time_column = _find(columns, TIME_NAMES) or next((c for c in columns if types[c][0] == "time"), None)
    if time_column is None and columns:  # epoch numbers in an unnamed first column
        first = columns[0]
        time_column = first if guess_time_format(head[first]) in ("epoch_s", "epoch_ms") else None
    time_format = guess_time_format(head[time_column]) if time_column else None
    if time_column:
        types[time_column] = ("time", 0)

    matcher = TagMatcher(plant)
    tag_column, value_column = _find(columns, TAG_NAMES), _find(columns, VALUE_NAMES)
    others = [c for c in columns if c != time_column]
    if not (tag_column and value_column) and 2 <= len(others) <= 3:
        # an unnamed long layout: a text column of names that are mostly plant tags, and a numeric one
        def names_tags(column: str) -> bool:
            names = pd.unique(head[column][~_blank(head[column])].astype(str).str.strip())[:50]
            return len(names) > 0 and sum(matcher.match(n)[0] is not None for n in names) >= len(names) / 2

        texts = [c for c in others if types[c][0] == "string" and names_tags(c)]
        numbers = [c for c in others if types[c][0] in ("float", "int", "bool")]
        if texts and numbers:
            tag_column, value_column = texts[0], numbers[0]
    layout = "long" if tag_column and value_column and tag_column != value_column else "wide"
    if layout == "wide":
        tag_column = value_column = None
    quality_column = _find(columns, QUALITY_NAMES) if layout == "long" else None

    if layout == "long":
        names = head[tag_column][~_blank(head[tag_column])].astype(str).str.strip()
        names = [str(n) for n in pd.unique(names)][:MAX_TAG_NAMES]
    else:
        names = [c for c in columns if c != time_column]
    matched = {n: matcher.match(n) for n in names}
    mapping = {n: m[0] for n, m in matched.items()}
    tz = zone(None, plant, [p for p in mapping.values() if p])
    naive = False
    if time_column is not None:
        col = head[time_column]
        if pd.api.types.is_datetime64_any_dtype(col):
            naive = col.dt.tz is None
        elif time_format == "iso8601":
            naive = bool((~col[~_blank(col)].astype(str).str.strip().str.contains(_OFFSET)).any())
        elif time_format not in ("epoch_s", "epoch_ms", None):
            naive = "%z" not in time_format

    options = None
    if time_column is not None:
        options = ImportOptions(layout=layout, time_column=time_column, time_format=time_format,
                                tag_column=tag_column, value_column=value_column, quality_column=quality_column,
                                mapping=mapping, delimiter=fmt.delimiter if fmt.kind == "csv" else None).model_dump()
    return {
        "file": filename, "format": fmt.kind, "encoding": fmt.encoding if fmt.kind == "csv" else None,
        "delimiter": fmt.delimiter if fmt.kind == "csv" else None, "rows": count_rows(src, fmt),
        "columns": [{"name": c, "type": types[c][0], "bad": types[c][1], "blank": int(_blank(head[c]).sum())}
                    for c in columns],
        "sample": [[_json_cell(v) for v in row] for row in head.head(SAMPLE_ROWS).itertuples(index=False)],
        "malformed": [b.as_json() for b in block.bad[:SAMPLE_ROWS]],
        "layout": layout, "time_column": time_column, "time_format": time_format, "timezone": tz.key,
        "naive_times": naive, "tag_column": tag_column, "value_column": value_column,
        "quality_column": quality_column, "tag_names": names if layout == "long" else [], "mapping": mapping,
        "matches": {n: m[1] for n, m in matched.items()}, "options": options,
    }


# ---- commit ----------------------------------------------------------------------------------------------
def check_options(options: ImportOptions, columns: list[str], plant: Plant) -> list[str]:
    """Problems that make the options unusable for a file with ``columns``, each naming the field."""
    problems = []
    index = plant.tag_index()
    wanted = [("time_column", options.time_column)]
    if options.layout == "long":
        wanted += [("tag_column", options.tag_column), ("value_column", options.value_column)]
        if options.quality_column:
            wanted.append(("quality_column", options.quality_column))
    for name, column in wanted:
        if not column:
            problems.append(f"options.{name}: required for the {options.layout} layout")
        elif column not in columns:
            problems.append(f"options.{name}: no column '{column}' in the file (columns: {', '.join(columns)})")
    for name, path in options.mapping.items():
        if path and path not in index:
            problems.append(f"options.mapping['{name}']: no tag '{path}'")
        if options.layout == "wide" and name not in columns:
            problems.append(f"options.mapping['{name}']: no column '{name}' in the file")
    if options.layout == "wide" and not any(options.mapping.values()):
        problems.append("options.mapping: no column is mapped to a tag")
    if options.timezone:
        try:
            ZoneInfo(options.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"options.timezone: unknown time zone '{options.timezone}'")
    return problems


def _convert(values: pd.Series, tag: Tag) -> tuple[list[Any], np.ndarray, str]:
    """The cells as values of ``tag``'s type: (values, ok mask, reason for the others)."""
    kind = tag.data_type
    if kind == "string":
        return values.astype(str).tolist(), np.ones(len(values), dtype=bool), ""
    if kind == "bool":
        if pd.api.types.is_bool_dtype(values):
            return values.tolist(), np.ones(len(values), dtype=bool), ""
        words = values.astype(str).str.strip().str.lower()
        yes, no = words.isin(TRUE_WORDS).to_numpy(), words.isin(FALSE_WORDS).to_numpy()
        return yes.tolist(), yes | no, "not true/false"
    if pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
    elif _is_text(values):
        numbers = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    else:
        numbers = values
    arr = numbers.to_numpy(dtype=float, na_value=np.nan)
    ok = ~np.isnan(arr)  # ±inf is left to the historian, which rejects it as non_finite
    if kind == "int":
        whole = ok & np.isfinite(arr) & (arr == np.round(arr))
        return np.where(whole, arr, 0).astype(np.int64).tolist(), whole, "not a whole number"
    return arr.tolist(), ok, "not a number"


@dataclass
class _Points:
    points: list[dict[str, Any]] = field(default_factory=list)
    origin: list[tuple[int, int | None, str]] = field(default_factory=list)  # (row, line, column) of each point
    bad: list[BadRow] = field(default_factory=list)
    empty: int = 0


class _Converter:
    """Turns blocks of rows into points under fixed options."""

    def __init__(self, options: ImportOptions, plant: Plant) -> None:
        self.options = options
        self.index = plant.tag_index()
        self.matcher = TagMatcher(plant)
        self.names: dict[str, str | None] = dict(options.mapping)
        self.tz = zone(options.timezone, plant, [p for p in options.mapping.values() if p])
        self.time_format = options.time_format

    def resolve(self, name: str) -> str | None:
        if name not in self.names:  # long layout: a name missing from the mapping
            self.names[name] = self.matcher.match(name)[0] if self.options.auto_map else None
        return self.names[name]

    def convert(self, block: Block) -> _Points:
        out = _Points(bad=list(block.bad))
        opts, frame = self.options, block.frame
        if frame.empty:
            return out
        lines = block.lines
        if self.time_format is None:
            self.time_format = guess_time_format(frame[opts.time_column]) or "iso8601"
        times, ok_time, reason = parse_times(frame[opts.time_column], self.time_format, self.tz)
        raw_time = frame[opts.time_column]
        for i in np.flatnonzero(~ok_time):
            out.bad.append(BadRow(int(block.rows[i]), opts.time_column, "bad_timestamp", reason,
                                  _excerpt(raw_time.iat[i]), line=int(lines[i]) if lines is not None else None))
        if opts.layout == "wide":
            for column, path in opts.mapping.items():
                if path:
                    self._cells(out, frame[column], self.index[path], column, times, ok_time, block)
            return out
        blank = _blank(frame[opts.tag_column])
        names = frame[opts.tag_column].astype(str).str.strip().where(~blank, "")
        quality = (frame[opts.quality_column].astype(str).str.strip().str.lower().where(
            ~_blank(frame[opts.quality_column]), "") if opts.quality_column else None)
        for name, positions in names.groupby(names, sort=False).indices.items():
            path = self.resolve(name) if name else None
            if path is None:
                cause, detail = (("malformed", "no tag name") if name == "" else
                                 ("unknown_tag", f"'{name}' matches no plant tag (map it, or use the tag path)"))
                for i in positions[ok_time[positions]]:
                    out.bad.append(BadRow(int(block.rows[i]), opts.tag_column, cause, detail, _excerpt(name),
                                          line=int(lines[i]) if lines is not None else None))
                continue
            self._cells(out, frame[opts.value_column], self.index[path], opts.value_column, times,
                        ok_time, block, positions, quality)
        return out

    def _cells(self, out: _Points, values: pd.Series, tag: Tag, column: str, times: np.ndarray,
               ok_time: np.ndarray, block: Block, positions: np.ndarray | None = None,
               quality: pd.Series | None = None) -> None:
        """Points of one tag from ``values`` (at ``positions``, else every row) where the time is good."""
        blank = _blank(values)
        take = ok_time & ~blank
        if positions is not None:
            only = np.zeros(len(values), dtype=bool)
            only[positions] = True
            take &= only
            out.empty += int((ok_time & blank & only).sum())
        else:
            out.empty += int((ok_time & blank).sum())
        sel = np.flatnonzero(take)
        if not len(sel):
            return
        cells = values.iloc[sel]
        converted, ok, reason = _convert(cells, tag)
        qualities = quality.iloc[sel].tolist() if quality is not None else None
        rows, lines = block.rows, block.lines
        for j, i in enumerate(sel.tolist()):
            row, line = int(rows[i]), int(lines[i]) if lines is not None else None
            if not ok[j]:
                out.bad.append(BadRow(row, column, "wrong_type", f"{reason} (tag '{tag.path}' is {tag.data_type})",
                                      _excerpt(cells.iat[j]), tag.path, line))
                continue
            q = qualities[j] if qualities is not None and qualities[j] else "good"
            if q not in ("good", "bad", "uncertain"):
                out.bad.append(BadRow(row, self.options.quality_column or "", "bad_quality",
                                      "quality must be good, bad or uncertain", _excerpt(q), tag.path, line))
                continue
            out.points.append({"tag": tag.path, "ts": int(times[i]), "v": converted[j], "q": q})
            out.origin.append((row, line, column))


async def _dead_letter(ctx: Context, source: str, filename: str, bad: list[BadRow]) -> None:
    ingest = ctx.services["ingest"]
    for b in bad:
        where = f"row {b.row}" + (f" (line {b.line})" if b.line else "")
        where += f", column '{b.column}'" if b.column else ""
        await ingest.dead_letter(source, b.cause, f"{filename} {where}: {b.detail}",
                                 {"file": filename, "row": b.row, "line": b.line, "column": b.column,
                                  "value": b.value[:MAX_PAYLOAD_CHARS]}, b.tag)


async def commit(src: Source, filename: str, options: ImportOptions, ctx: Context, *, source: str,
                 progress: Callable[[int, int], None] | None = None,
                 chunk_rows: int = CHUNK_ROWS) -> ImportResult:
    """Import the whole file through ``ctx.services["ingest"]`` with ``source`` as the dead-letter
    source; ``progress(rows_done, rows_total)`` after each chunk.

    Raises ``FileImportError`` only when the file cannot be imported at all (unreadable, options
    that do not fit it); everything else is reported in the result.
    """
    started = time.perf_counter()
    fmt, head = await asyncio.to_thread(read_head, src, filename, options.delimiter, 1)
    columns = list(head.frame.columns)
    problems = check_options(options, columns, ctx.plant)
    if problems:
        raise FileImportError("; ".join(problems))
    converter = _Converter(options, ctx.plant)
    total = await asyncio.to_thread(count_rows, src, fmt)
    result = ImportResult(file=filename)
    if options.layout == "wide":
        result.skipped_columns = [c for c in columns if c != options.time_column and not options.mapping.get(c)]
    ingest = ctx.services["ingest"]
    blocks = iter_blocks(src, fmt, filename, chunk_rows)
    end = Block(pd.DataFrame(), np.zeros(0, dtype=np.int64))
    last = None
    while True:
        try:
            block = await asyncio.to_thread(next, blocks, end)
        except Exception as exc:  # unreadable from some point on: what came before stays imported
            raise FileImportError(f"file: cannot read '{filename}' after row {result.rows}: {exc}") from None
        if block is end:
            break
        converted = await asyncio.to_thread(converter.convert, block)
        result.rows = int(block.rows[-1]) if len(block.rows) else result.rows + len(block.bad)
        result.empty += converted.empty
        for b in converted.bad:
            result.add_bad(b)
        await _dead_letter(ctx, source, filename, converted.bad)
        if converted.points:
            submitted = last = await ingest.submit(converted.points, source=source)
            result.points += len(converted.points)
            result.accepted += submitted.accepted
            for r in submitted.rejected:  # the historian's own checks (non-finite, time stamp range...)
                row, line, column = converted.origin[r.index]
                result.add_bad(BadRow(row, column, r.reason, r.detail, _excerpt(converted.points[r.index]["v"]),
                                      r.tag, line))
        if progress is not None:
            progress(result.rows, max(total, result.rows))
    if last is not None:  # batches are forwarded in order: the last one in means all are
        result.stored = await ingest.wait_stored(last, timeout=STORE_WAIT_S)
    result.duration_s = time.perf_counter() - started
    return result
