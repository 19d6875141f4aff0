"""Settings from environment variables, all prefixed `SMARTCHARGE_` (e.g. SMARTCHARGE_DATABASE_URL)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SMARTCHARGE_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; when unset an embedded PostgreSQL is started in data_dir",
    )
    data_dir: Path = Field(default=Path("var"), description="embedded PostgreSQL, outbox, keys")
    database_schema: str | None = Field(
        default=None, description="PostgreSQL schema for all tables (default: public)"
    )
    database_pool_size: int = 10

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_url: str = Field(
        default="", description="base URL users reach the portals at, used in e-mails"
    )

    priority_charge_default_minutes: int = Field(default=120, ge=1, le=24 * 60)
    invitation_valid_days: float = Field(default=7, gt=0)

    def public_base_url(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")
