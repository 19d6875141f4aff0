"""Domain refusals in the words of the person at the form, with the HTTP status of the API."""

from __future__ import annotations

import re

from api.errors import status_for
from api.home_users import NoSuchHomeUser
from domain.errors import DomainError, EvseInAnotherGroup, GroupAlreadyHasHomeUser
from domain.membership import NotAHomeUser, RevokedHomeUser
from projections.queries import ReadModelQueries

from .formatting import sentence

# "windows[0].start: ..." names a field of the JSON body; on a page the form says which.
FIELD_PREFIX = re.compile(r"^(?P<field>[a-z_]+)(\[\d+\])?(\.(?P<sub>[a-z_]+))?: ")
LABELS = {
    "windows": "Exclusion times",
    "weekdays": "Days",
    "email": "E-mail",
    "time_zone": "Time zone",
    "charge_point_id": "Charger id",
    "connector_id": "Connector",
    "max_current_a": "Maximum current",
    "max_power_w": "Maximum power",
    "ends_at": "End",
    "duration_minutes": "Duration",
    "current_password": "Current password",
}
# Field names inside a domain message ("give either max_current_a ... or max_power_w"), in words.
WORDS = {
    "max_current_a": "the maximum current",
    "max_power_w": "the maximum power",
    "duration_minutes": "the duration",
    "ends_at": "the end time",
}
WORD = re.compile(r"\b(" + "|".join(WORDS) + r")\b")


class FormError(Exception):
    """A form value the page itself cannot use, already in the user's words (HTTP 422)."""

    def __init__(self, message: str, status_code: int = 422):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def label(field: str) -> str:
    return LABELS.get(field, field.replace("_", " ").capitalize())


def in_words(error: DomainError, queries: ReadModelQueries | None = None) -> str:
    if isinstance(error, NoSuchHomeUser):
        return error.in_words
    if isinstance(error, NotAHomeUser):
        return f"{error.email} is an operator's account, not a home user's."
    if isinstance(error, RevokedHomeUser):
        return (
            f"{error.email} was revoked and cannot join a group;"
            " invite them again under Admin: users."
        )
    if isinstance(error, GroupAlreadyHasHomeUser):
        who = error.current_email or "the current home user"
        return f"A consumer-configured ToU group has exactly one home user: remove {who} first."
    if isinstance(error, EvseInAnotherGroup) and queries is not None:
        return evse_elsewhere(error, queries)
    text = str(error)
    match = FIELD_PREFIX.match(text)
    if match:
        field = match["sub"] if match["field"] == "windows" and match["sub"] else match["field"]
        text = f"{label(field)}: {WORD.sub(lambda m: WORDS[m[1]], text[match.end() :])}"
    else:
        text = WORD.sub(lambda m: WORDS[m[1]], text)
    return sentence(text)


def evse_elsewhere(error: EvseInAnotherGroup, queries: ReadModelQueries) -> str:
    evse = queries.evse(error.evse_id)
    group = queries.group(error.group_id)
    what = f"{evse['charge_point_id']} connector {evse['connector_id']}" if evse else "This EVSE"
    where = f"the group “{group['name']}”" if group else "another group"
    return f"{what} is already in {where}: remove it there first."


def explain(error: DomainError | FormError, queries: ReadModelQueries | None = None) -> str:
    return error.message if isinstance(error, FormError) else in_words(error, queries)


def status_of(error: DomainError | FormError) -> int:
    return error.status_code if isinstance(error, FormError) else status_for(error)
