"""Settings of a ``file`` connector (a folder watched for CSV / Parquet files to import), and the
options of one import. Plain pydantic: importing this does not load pandas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from zhizao.connect.base import ConnectorConfig


class FileConfig(ConnectorConfig):
    path: str = Field(min_length=1, description="folder to watch; imported files move to done/ or failed/ in it")
    pattern: str = Field("*.csv", min_length=1, description="glob of the files to import, e.g. *.csv or *.parquet")
    poll_s: float = Field(5.0, gt=0, le=3600, description="seconds between looks at the folder")
    settle_s: float = Field(2.0, ge=0, le=3600,
                            description="a file is imported once it has not changed for this long (still being "
                                        "written otherwise)")
    layout: Literal["auto", "wide", "long"] = Field("auto", description="auto: guessed per file")
    time_column: str | None = Field(None, description="default: guessed (time, timestamp, ts, 时间...)")
    time_format: str | None = Field(None, description="iso8601, epoch_s, epoch_ms or a strptime format; "
                                                      "default: guessed")
    timezone: str | None = Field(None, description="zone of times without an offset; default: the site's")
    tag_column: str | None = None
    value_column: str | None = None
    quality_column: str | None = None
    mapping: dict[str, str | None] = Field(
        default_factory=dict,
        description="column (wide) or tag name (long) -> tag path; null skips it. Names not listed are matched "
                    "to plant tags by path, equipment and tag id or name, when auto_map is on")
    auto_map: bool = True
    delimiter: str | None = Field(None, min_length=1, max_length=1, description="CSV; default: sniffed")


class ImportOptions(BaseModel):
    """How to read a file and which plant tag each column (or tag name) goes to."""

    model_config = ConfigDict(extra="forbid")

    layout: Literal["wide", "long"] = "wide"
    time_column: str = Field(description="column with the time stamps")
    time_format: str | None = Field(None, description="iso8601 (default), epoch_s, epoch_ms, or a strptime format")
    timezone: str | None = Field(None, description="zone of times without an offset; default: the site's")
    tag_column: str | None = Field(None, description="long layout: column with the tag names")
    value_column: str | None = Field(None, description="long layout: column with the values")
    quality_column: str | None = Field(None, description="long layout: optional column good/bad/uncertain")
    mapping: dict[str, str | None] = Field(
        default_factory=dict,
        description="wide: column -> tag path (null or missing: not imported); long: tag name in the file -> "
                    "tag path (names not listed are matched to plant tags automatically)")
    auto_map: bool = Field(True, description="long layout: match tag names missing from the mapping to plant "
                                             "tags automatically (else they are unknown tags)")
    delimiter: str | None = Field(None, min_length=1, max_length=1, description="CSV delimiter; default: sniffed")
