"""The opening handshake: which charger is calling, and is it who it says it is.

OCPP-J 1.6 §3.1.1: the connection URL is the endpoint plus "/" plus the
charger's percent-encoded identity. §3.2: an unknown identity gets HTTP 404.
§6.2.2: HTTP Basic auth, the username being the identity (security profile 1,
profile 2 over TLS). Every refusal happens before the upgrade.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote, urlsplit

ENDPOINT = "/ocpp/"
CHALLENGE = 'Basic realm="OCPP", charset="UTF-8"'


def charge_point_id_from(path: str) -> str | None:
    """The identity in "/ocpp/{charge_point_id}", decoded; None for any other path."""
    route = urlsplit(path).path
    if not route.startswith(ENDPOINT):
        return None
    encoded = route[len(ENDPOINT) :]
    if not encoded or "/" in encoded:
        return None
    try:
        decoded = unquote(encoded, errors="strict")
    except UnicodeDecodeError:
        return None
    # A NUL or another control cannot be in a registered id, nor be looked up in a
    # text column: such a charger is as unknown as any other (§3.2: 404).
    return decoded if decoded.isprintable() else None


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
