"""Delivering mail: the outbox's rows, sent by SMTP when a server is configured, else written
into an outbox folder.

Which events call for a mail and what it says is decided in `projections.mails`; the
rows wait in `projections.mail_outbox`. `Mailing` runs, in one process, the follower
that writes the rows and the sender that delivers them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib
from eventsourcing.application import Application

from projections.follower import EventFollower
from projections.mail_outbox import MailOutbox
from projections.mail_texts import Mail
from projections.mails import TOPICS

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 3600.0
IDLE_SECONDS = 60.0  # looks for mails due anyway (another process may have written them)
FAILED_PAUSE_SECONDS = 5.0  # after the outbox itself could not be read (database away)


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


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
    """With no SMTP server set, each mail is written to a file and its recipient logged.

    The mails hold invitation and password-reset links: the folder is the service user's
    alone (0700) and each file readable by it only (0600), whatever the umask, instead of
    readable by every account on the machine."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.folder.chmod(0o700)  # mkdir's mode is cut by the umask, and an old folder kept
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.folder / f"{stamp}.eml"
        write_private(path, message.as_bytes())
        log.warning(
            "no SMTP server set: mail %r to %s written to %s",
            message["Subject"],
            message["To"],
            path,
        )


def write_private(path: Path, data: bytes) -> None:
    """A new file readable and writable by its owner only, from its first byte on (no
    window in which it exists with the umask's permissions)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # exactly: a umask may have taken the owner's bits
        file.write(data)


def message(mail: Mail, sender: str) -> EmailMessage:
    built = EmailMessage()
    built["From"] = sender
    built["To"] = mail.to
    built["Subject"] = mail.subject
    built.set_content(mail.body)
    return built


def retry_delay(attempts: int) -> float:
    """After the n-th failed attempt: 1 s, 2 s, 4 s, ... at most an hour."""
    return min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)


class MailSender:
    """Sends the outbox's due mails one at a time, in a thread of its own; `wake()` when new
    rows are committed."""

    def __init__(self, outbox: MailOutbox, mailer: Mailer, sender: str):
        self.outbox = outbox
        self.mailer = mailer
        self.sender = sender
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="mail-sender", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before looking: a wake from now on is not missed
            try:
                while not self._stopping.is_set() and self.send_one():
                    pass
                due = self.outbox.seconds_until_due()
                pause = IDLE_SECONDS if due is None else min(due, IDLE_SECONDS)
            except Exception as error:
                log.warning("mail outbox not readable: %s; trying again", error)
                pause = FAILED_PAUSE_SECONDS
            self._wake.wait(pause)

    def send_one(self) -> bool:
        """Send the next due mail; False when none is due."""
        with self.outbox.due_mail() as due:
            if due is None:
                return False
            try:
                asyncio.run(self.mailer.send(message(due.mail, self.sender)))
            except Exception as error:
                delay = retry_delay(due.attempts + 1)
                log.warning(
                    "mail %r to %s not sent (%s); trying again in %g s",
                    due.mail.subject,
                    due.mail.to,
                    error,
                    delay,
                )
                due.failed(error, delay)
            else:
                due.sent()
            return True


class Mailing:
    """The mail follower (events -> outbox rows, exactly once) and the sender, together."""

    def __init__(self, app: Application, outbox: MailOutbox, sender: MailSender):  # type: ignore[type-arg]
        self.app = app
        self.outbox = outbox
        self.sender = sender
        outbox.on_written = sender.wake
        self.follower: EventFollower | None = None

    def start(self) -> bool:
        """Follow the event store and send; False when already running."""
        if self.follower is not None and self.follower.running:
            return False
        self.follower = EventFollower(
            self.app,
            self.outbox.process_batch,
            self.outbox.position,
            on_stuck=self.outbox.record_stuck,
            topics=TOPICS,
            name="mail",
        ).start()
        self.sender.start()
        return True

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        self.sender.stop()
