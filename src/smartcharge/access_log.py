"""The HTTP access log without the one-time tokens of invitation and password-reset links.

The links in our mails carry their token in the path (/invitation/TOKEN,
/password-reset/TOKEN, and their /api/ twins), and uvicorn's access log writes every
path: anyone who reads the log could use a link the mail has not reached yet. The
filter keeps the line and puts "…" where the token was, and where the value of a query
parameter named like a secret (token, key, password, code, session) was.
"""

from __future__ import annotations

import logging
import re
from typing import Any

ONE_TIME_LINK = re.compile(
    r"(/(?:api/)?(?:invitation|invitations|password-reset|password-resets)/)[^/?#\s\"]+"
)
# A secret in a query string (?token=…, &access_key=…): no link of ours has one now, but a
# client or a later link may, and the log would keep it.
SECRET_PARAMETER = re.compile(
    r"([?&;][^=&;#\s\"]*(?:token|secret|password|passwd|key|code|session)[^=&;#\s\"]*=)"
    r"[^&;#\s\"]+",
    re.IGNORECASE,
)
ACCESS_LOGGER = "uvicorn.access"


def redact(text: str) -> str:
    return SECRET_PARAMETER.sub(r"\1…", ONE_TIME_LINK.sub(r"\1…", text))


class HideLinkTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        return True


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def hide_link_tokens() -> None:
    """On uvicorn's access logger; logging's configuration later keeps a logger's filters."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(each, HideLinkTokens) for each in logger.filters):
        logger.addFilter(HideLinkTokens())
