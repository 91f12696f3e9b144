"""Collector settings from the environment (CLAUSEWATCH_*) and command-line flags."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rules.catalog import catalog_at
from rules.model import Control


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAUSEWATCH_", extra="ignore")

    db: Path = Path("var/clausewatch.db")
    site: str = "default"
    site_tz: str = "Asia/Shanghai"
    controls_dir: Path | None = None  # None: the built-in catalog
    max_batch: int = 5000
    max_body_bytes: int = 32 * 1024 * 1024
    # how far a sender's clock may run ahead of the collector's; observations dated later are refused
    max_clock_skew_s: float = 300.0
    ingest_processes: int | None = None  # processes preparing large batches; None: one per extra core
    session_hours: int = 12
    secure_cookies: bool = False  # set when served over TLS
    sweep_s: float = 60.0
    checkpoint_s: float = 10.0
    ledger_selfcheck_h: float = 24.0
    # how long an ingested batch waits at most for the seal that commits it to the ledger (docs/storage.md)
    seal_s: float = Field(default=60.0, gt=0)
    public_url: str | None = None  # how auditors reach this collector: standalone reports link evidence there
    store_stats_s: float = 600.0  # how long the store's measured size is reused by /metrics
    store_max_bytes: int | None = None  # the store file grows no further: writes answer 503, as on a full disk
    notify_config: Path | None = None  # the built-in notifier's receivers and routes (YAML)
    # compaction (docs/storage.md): how often the service compacts the store (0: never; `store compact` still
    # does), and the raw window of kinds without their own in rules/retention.yaml (None: that file's default)
    compact_every_h: float = 24.0
    keep_raw_days: float | None = None
    # collectors sharing a PostgreSQL store: how long the leading one's engine lease lasts unrenewed
    # (renewed every third of it), so how soon another takes over when it dies (docs/postgresql.md)
    lease_ttl_s: float = 5.0

    @field_validator("lease_ttl_s")
    @classmethod
    def _lease_ttl(cls, value: float) -> float:
        if not 0.5 <= value <= 600:
            raise ValueError("must be from 0.5 to 600 seconds")
        return value

    @field_validator("compact_every_h", "keep_raw_days")
    @classmethod
    def _not_negative(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value < 100_000:
            raise ValueError("must be a number from 0 up")
        return value

    def catalog(self) -> list[Control]:
        """The controls this site judges with, the same for the service and every command
        (CLAUSEWATCH_CONTROLS_DIR, else the built-in catalog); raises CatalogError."""
        return catalog_at(self.controls_dir)

    @field_validator("controls_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value  # CLAUSEWATCH_CONTROLS_DIR= : the built-in catalog, not "."

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("CLAUSEWATCH_PUBLIC_URL must be an http(s) URL")
        return value
