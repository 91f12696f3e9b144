"""Collector settings from the environment (CLAUSEWATCH_*) and command-line flags."""
from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    public_url: str | None = None  # how auditors reach this collector: standalone reports link evidence there
    store_stats_s: float = 600.0  # how long the store's measured size is reused by /metrics
    store_max_bytes: int | None = None  # the store file grows no further: writes answer 503, as on a full disk
    notify_config: Path | None = None  # the built-in notifier's receivers and routes (YAML)

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("CLAUSEWATCH_PUBLIC_URL must be an http(s) URL")
        return value
