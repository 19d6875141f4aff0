"""Delivering mail: by SMTP when a server is configured, else into an outbox folder."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

log = logging.getLogger(__name__)


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 20.0,
    ):
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            username=self.username,
            password=self.password,
            timeout=self.timeout,
        )
        log.info(
            "mail %r sent to %s via %s:%d", message["Subject"], message["To"], self.host, self.port
        )


class OutboxMailer:
    """With no SMTP server set, each mail is written to a file and its recipient logged."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}.eml"
        path.write_bytes(message.as_bytes())
        log.warning(
            "no SMTP server set: mail %r to %s written to %s",
            message["Subject"],
            message["To"],
            path,
        )
