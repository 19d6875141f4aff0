"""An aiosmtpd handler that keeps received mails and lets a test wait for one."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from email.message import EmailMessage
from typing import Any


class MailCatcher:
    def __init__(self) -> None:
        self.port = 0
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)  # type: ignore[arg-type]
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, subject_contains: str = "", timeout: float = 10.0) -> EmailMessage:
        def find() -> EmailMessage | None:
            for message in reversed(self.messages):
                if to.lower() in str(message["To"]).lower() and subject_contains in str(
                    message["Subject"]
                ):
                    return message
            return None

        with self._arrived:
            if not self._arrived.wait_for(lambda: find() is not None, timeout=timeout):
                raise AssertionError(f"no mail to {to} ({subject_contains!r}) within {timeout}s")
            found = find()
            assert found is not None
            return found


def invitation_token(message: EmailMessage) -> str:
    body = message.get_content()
    match = re.search(r"/invitation/([A-Za-z0-9_-]+)", body)
    assert match, f"no invitation link in: {body}"
    return match.group(1)
