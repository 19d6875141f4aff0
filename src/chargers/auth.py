"""The opening handshake: which charger is calling, and is it who it says it is.

OCPP-J 1.6 §3.1.1: the connection URL is the endpoint plus "/" plus the
charger's percent-encoded identity. §3.2: an unknown identity gets HTTP 404.
§6.2.2: HTTP Basic auth, the username being the identity (security profile 1,
profile 2 over TLS). Every refusal happens before the upgrade.

The identity is read before anything else is done with the request: one that no
charger can have (not UTF-8, a control character, too long) is refused with 400
and never reaches a log line, a database query or the throttle's keys as sent.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote, urlsplit

ENDPOINT = "/ocpp/"
CHALLENGE = 'Basic realm="OCPP", charset="UTF-8"'
# OCPP 2.0.1 (errata 2023-12 §2.17.3, SecurityCtrlr.Identity): at most 48 characters;
# 1.6 sets no bound, and our registered ids keep to the same (domain.evses).
MAX_IDENTITY = 48


class BadIdentity(ValueError):
    """What follows the endpoint cannot be a charger's identity: HTTP 400."""


def charge_point_id_from(path: str) -> str | None:
    """The identity in "/ocpp/{charge_point_id}", decoded; None for any other path (404).

    Raises BadIdentity, naming what is wrong, for an identity no charger can have."""
    route = urlsplit(path).path
    if not route.startswith(ENDPOINT):
        return None
    encoded = route[len(ENDPOINT) :]
    if not encoded or "/" in encoded:
        return None
    try:
        decoded = unquote(encoded, errors="strict")
    except UnicodeDecodeError:
        raise BadIdentity("the charge point id is not percent-encoded UTF-8") from None
    # OCPP-J 1.6 §3.1.1: a string identifying the charger, percent-encoded as needed;
    # a NUL, a line break or another control is no part of one, and would forge log lines.
    if not decoded.isprintable():
        raise BadIdentity("the charge point id holds a control character")
    if len(decoded) > MAX_IDENTITY:
        raise BadIdentity(f"the charge point id is over {MAX_IDENTITY} characters")
    return decoded


def basic_password(header: str | None, charge_point_id: str) -> str | None:
    """The password of a Basic `Authorization` header whose username is the charger's id.

    The id may itself hold a colon, so the header is matched against the id
    rather than split at the first colon (RFC 7617 §2).
    """
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        credentials = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    prefix = f"{charge_point_id}:"
    if not credentials.startswith(prefix):
        return None
    return credentials[len(prefix) :]
