"""Settings from environment variables, all prefixed `SMARTCHARGE_`."""

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
    database_pool_size: int = Field(default=20, ge=3, description="most connections per pool")

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    public_url: str = Field(
        default="", description="base URL users reach the portals at, used in e-mails"
    )
    max_request_body_bytes: int = Field(
        default=1 << 20, ge=1024, description="largest request body (JSON or form); beyond: 413"
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        description="addresses whose X-Forwarded-Proto/-For are believed (comma-separated, or *)",
    )

    smtp_host: str | None = Field(
        default=None, description="SMTP server; when unset mails go to the outbox folder"
    )
    smtp_port: int = 587
    smtp_security: str = Field(default="starttls", pattern="^(none|starttls|tls)$")
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_sender: str = "Smart charging <no-reply@localhost>"

    session_days: float = Field(default=14, gt=0)
    login_attempts_per_account_address: int = Field(
        default=10, ge=1, description="failed logins per account from one address per 15 min"
    )
    login_attempts_per_address: int = Field(
        default=50, ge=1, description="failed logins from one address per 15 min"
    )
    login_delay_after: int = Field(
        default=5, ge=0, description="failed logins on an account before its logins are slowed"
    )
    login_delay_max_seconds: float = Field(
        default=10.0, ge=0, description="the longest an account's login is slowed"
    )
    password_hash_concurrency: int = Field(
        default=2, ge=1, description="password hashes at once per process (64 MiB each)"
    )
    read_your_writes_timeout: float = Field(default=2.0, ge=0)

    priority_charge_default_minutes: int = Field(default=120, ge=1, le=24 * 60)
    invitation_valid_days: float = Field(default=7, gt=0)

    ocpp_host: str = Field(default="127.0.0.1", description="the OCPP gateway's interface")
    ocpp_port: int = Field(default=9000, ge=0, le=65535, description="0: any free port")
    ocpp_call_timeout: float = Field(
        default=10.0, gt=0, description="seconds a charger has to answer one of our calls"
    )
    ocpp_heartbeat_interval: int = Field(default=300, ge=1, description="seconds, to chargers")
    ocpp_ping_interval: float | None = Field(
        default=60.0, gt=0, description="seconds between websocket pings to each charger"
    )
    ocpp_tls_cert: Path | None = Field(
        default=None, description="PEM certificate (chain): the gateway then serves wss://"
    )
    ocpp_tls_key: Path | None = Field(default=None, description="PEM private key of the cert")
    ocpp_failed_handshakes_per_charger: int = Field(
        default=10, ge=1, description="failed charger logins per charge point id per window"
    )
    ocpp_failed_handshakes_per_address: int = Field(
        default=30, ge=1, description="failed charger logins from one address per window"
    )
    ocpp_failed_handshake_window: int = Field(
        default=300, ge=1, description="seconds; over a limit, logins get 429 until it slides"
    )
    ocpp_calls_per_minute: int = Field(
        default=300, ge=1, description="calls a charger may make in any minute"
    )
    ocpp_call_burst: int = Field(
        default=60, ge=1, description="calls a charger may make in any 10 seconds"
    )
    gateway_id: str | None = Field(
        default=None,
        description="this gateway's name in the event store; default host name, port and pid",
    )

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    def public_base_url(self) -> str:
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")
