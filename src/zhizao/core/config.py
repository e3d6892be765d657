"""Platform configuration.

Precedence (highest first): environment variables ``ZHIZAO_*``, then ``zhizao.toml``
(in the working directory, or the file named by ``ZHIZAO_CONFIG``), then the
embedded defaults below, which need no server at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _config_file() -> Path:
    return Path(os.environ.get("ZHIZAO_CONFIG", "zhizao.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZHIZAO_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Folder for the embedded stores and the model registry")
    database_url: str | None = Field(None, description="Relational store; default SQLite in data_dir")
    historian_url: str | None = Field(None, description="Historian; default DuckDB in data_dir")
    mqtt_url: str | None = Field(None, description="MQTT broker, e.g. mqtt://127.0.0.1:1883 (optional)")
    plant_file: Path | None = Field(None, description="Plant YAML; default: data_dir/plant.yaml or the demo plant")
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = Field(False, description="Run the simulated demo plant and create a demo admin")
    sim_seed: int = 42
    sim_speed: float = Field(60.0, description="Simulated seconds per wall-clock second")
    retention_days: int = Field(90, description="Raw historian data older than this is dropped")
    rollup_after_days: int = Field(7, description="Raw data older than this is downsampled to 1-minute rollups")
    auto_create_tags: bool = Field(False, description="Create unknown tags that connectors send (else they are "
                                   "rejected as unknown_tag)")
    auto_create_max_tags: int = Field(10_000, ge=0, description="At most this many tags are auto-created")
    spool_max_mb: float = Field(1024.0, gt=0, description="Store-and-forward spool limit; when full, input is "
                                "refused (sources keep it)")
    spool_sync: Literal["full", "normal"] = Field("full", description="full: spooled data survives a power cut; "
                                                  "normal: survives a process crash, faster")
    dead_letter_rows_per_minute: int = Field(60, ge=0, description="Dead-letter rows kept per source and cause "
                                             "and minute (all are counted)")
    lang: str = "zh-CN"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'zhizao.db').resolve()}"

    @property
    def spool_path(self) -> Path:
        return self.data_dir / "spool.sqlite"

    @property
    def resolved_historian_url(self) -> str:
        return self.historian_url or f"duckdb:///{(self.data_dir / 'historian.duckdb').resolve()}"
