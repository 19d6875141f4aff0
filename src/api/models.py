"""Request and response bodies of the JSON API, named for what they are."""

from __future__ import annotations

from datetime import datetime
from types import EllipsisType
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)

from domain.errors import InvalidInput
from domain.evse_limits import MAX_CURRENT_A, MAX_POWER_W, EvseLimits
from domain.evses import MAX_CONNECTOR_ID
from domain.exclusion_times import MAX_WINDOWS, parse_windows, window_changes
from domain.groups import MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH, MAX_TIME_ZONE_LENGTH
from domain.priority_charge import MAX_PRIORITY_MINUTES, priority_charge_runs
from domain.users import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# ASCII digits only: the regular expressions' \d also takes full-width digits ("1\uff17:00").
TIME_OF_DAY = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
CHARGE_POINT_ID = r"^[A-Za-z0-9._~:@!$&'()*+,;=-]+$"
# What a failed pattern means, in words: a regular expression is no message for a person.
PATTERN_PROBLEMS = {
    NO_CONTROL: "must not contain control characters such as NUL",
    TIME_OF_DAY: "must be a time of day as HH:MM, from 00:00 to 23:59",
    CHARGE_POINT_ID: "only letters, digits and URL-safe punctuation (no spaces or slashes)",
}

Text = Annotated[str, StringConstraints(pattern=NO_CONTROL)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
TimeOfDay = Annotated[str, StringConstraints(pattern=TIME_OF_DAY)]
Email = Annotated[
    str, StringConstraints(min_length=3, max_length=MAX_EMAIL_LENGTH, pattern=NO_CONTROL)
]
TimeZoneName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TIME_ZONE_LENGTH, pattern=NO_CONTROL)
]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NO_CONTROL)
]
Description = Annotated[
    str, StringConstraints(max_length=MAX_DESCRIPTION_LENGTH, pattern=NO_CONTROL)
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


# Numbers and yes/no in the JSON API are JSON numbers and booleans: no client means "1" or
# true for a connector, or 1 for yes. (Pydantic's lax mode took them; HTML forms send text
# and are parsed by the pages.) OCPP 1.6 §7.14 (ChargingSchedulePeriod.limit): "accepts
# at most one digit fraction (e.g. 8.1)", so limits are in steps of 0.1; a positive value
# below the step (1e-320 was stored) is no limit any charger can hold.
LIMIT_STEP = 0.1


def _whole_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number (a JSON number without fraction)")
    return value


Phases = Annotated[Literal[1, 3], BeforeValidator(_whole_number)]
Current = Annotated[
    StrictFloat,
    Field(ge=LIMIT_STEP, le=MAX_CURRENT_A, multiple_of=LIMIT_STEP, allow_inf_nan=False),
]
Power = Annotated[
    StrictFloat, Field(ge=1, le=MAX_POWER_W, multiple_of=LIMIT_STEP, allow_inf_nan=False)
]
NewPassword = Annotated[
    str, StringConstraints(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExclusionWindowIn(Strict):
    weekdays: list[Weekday] = Field(min_length=1, max_length=7, examples=[["mon", "tue"]])
    start: TimeOfDay | None = Field(
        default=None, examples=["17:00"], description="local time HH:MM (00:00 if all_day)"
    )
    end: TimeOfDay | None = Field(
        default=None,
        examples=["21:00"],
        description="local time HH:MM; before start: runs past midnight; the same as start"
        " only with all_day",
    )
    all_day: StrictBool = Field(
        default=False, description="24 hours from start (from 00:00: the whole day); no end"
    )


class ExclusionWindowView(BaseModel):
    weekdays: list[Weekday]
    start: str
    end: str
    all_day: bool = Field(
        default=False,
        description="present only when true: 24 hours from start",
        exclude_if=lambda all_day: not all_day,  # other windows read as they always did
    )

    @model_validator(mode="before")
    @classmethod
    def _all_day(cls, data: Any) -> Any:
        # Read-model rows written before the flag hold a 24-hour window as start == end.
        if isinstance(data, dict) and "all_day" not in data:
            return {**data, "all_day": data.get("start") == data.get("end")}
        return data


class ExclusionTimesIn(Strict):
    windows: list[ExclusionWindowIn] = Field(max_length=MAX_WINDOWS)


class ExclusionWindowChangeIn(Strict):
    """One window changed in place, atomically: `old` as the group has it now."""

    old: ExclusionWindowIn
    new: ExclusionWindowIn


class ExclusionTimesView(BaseModel):
    group_id: UUID
    time_zone: str
    windows: list[ExclusionWindowView]


class GroupIn(Strict):
    name: Name
    description: Description = ""
    time_zone: TimeZoneName = Field(examples=["Europe/Amsterdam"])
    algorithm: Literal["consumer_tou"] = "consumer_tou"
    home_user_id: UUID | None = None
    home_user_email: Email | None = Field(
        default=None, description="alternative to home_user_id: the home user's e-mail"
    )
    invite_home_user: StrictBool = Field(
        default=False,
        description="with home_user_email: an e-mail without an account is invited in the"
        " same save; its one mail (the invitation, naming the group) sets the password",
    )
    evse_ids: list[UUID] = Field(default_factory=list, max_length=100)
    exclusion_windows: list[ExclusionWindowIn] = Field(default_factory=list, max_length=MAX_WINDOWS)
    random_delay: StrictBool = False


class GroupPatch(Strict):
    name: Name | None = None
    description: Description | None = None
    time_zone: TimeZoneName | None = None
    random_delay: StrictBool | None = None


class HomeUserIn(Strict):
    user_id: UUID | None = None
    email: Email | None = Field(default=None, examples=["anna@example.com"])
    invite: StrictBool = Field(
        default=False,
        description="with email: an e-mail without an account is invited and added in one"
        " save; its one mail (the invitation, naming the group) sets the password",
    )


class EvseRef(Strict):
    evse_id: UUID


class EvseMoveIn(Strict):
    group_id: UUID = Field(description="the group the EVSE moves to")
    from_group_id: UUID | None = Field(
        default=None,
        description="the group you saw it in (null: in no group); when given and it has "
        "moved since, nothing changes and the answer is 409",
    )

    def seen_in(self) -> UUID | EllipsisType | None:
        """The group the mover saw it in, or ... when not said."""
        return self.from_group_id if "from_group_id" in self.model_fields_set else ...


class UserRef(BaseModel):
    id: UUID
    email: str
    status: str


class PriorityChargeView(BaseModel):
    started_at: datetime
    ends_at: datetime
    started_by_role: str | None


class GroupView(BaseModel):
    id: UUID
    name: str
    description: str
    algorithm: str
    time_zone: str
    home_user: UserRef | None
    evse_ids: list[UUID]
    exclusion_windows: list[ExclusionWindowView]
    random_delay: bool
    priority_charge: PriorityChargeView | None = Field(
        description="the running priority charge, if any"
    )
    updated_at: datetime
    version: int

    @classmethod
    def from_row(cls, row: dict[str, Any], now: datetime) -> GroupView:
        priority = None
        if priority_charge_runs(row["priority_started_at"], row["priority_ends_at"], now):
            priority = PriorityChargeView(
                started_at=row["priority_started_at"],
                ends_at=row["priority_ends_at"],
                started_by_role=row["priority_started_by_role"],
            )
        home_user = None
        if row["home_user_id"] is not None:
            home_user = UserRef(
                id=row["home_user_id"],
                email=row["home_user_email"] or "",
                status=row["home_user_status"] or "unknown",
            )
        return cls(
            id=row["id"],
            name=row["name"],
            description=row["description"],
            algorithm=row["algorithm"],
            time_zone=row["time_zone"],
            home_user=home_user,
            evse_ids=row["evse_ids"] or [],
            exclusion_windows=row["exclusion_windows"],
            random_delay=row["random_delay"],
            priority_charge=priority,
            updated_at=row["updated_at"],
            version=row["version"],
        )


class PriorityChargeIn(Strict):
    duration_minutes: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_PRIORITY_MINUTES,
        description="default: the service's setting (120)",
    )
    ends_at: datetime | None = Field(default=None, description="alternative to duration_minutes")

    @model_validator(mode="after")
    def one_end(self) -> PriorityChargeIn:
        if self.duration_minutes is not None and self.ends_at is not None:
            raise ValueError("give duration_minutes or ends_at, not both")
        return self


class EvseIn(Strict):
    charge_point_id: Annotated[
        str, StringConstraints(min_length=1, max_length=48, pattern=CHARGE_POINT_ID)
    ]
    connector_id: StrictInt = Field(ge=1, le=MAX_CONNECTOR_ID)
    max_current_a: Current | None = None
    phases: Phases | None = None
    max_power_w: Power | None = None

    def limits(self) -> EvseLimits:
        """The three fields as the domain's value, checked there."""
        return EvseLimits(self.max_current_a, self.phases, self.max_power_w)


class EvseLimitsIn(Strict):
    max_current_a: Current | None = None
    phases: Phases | None = None
    max_power_w: Power | None = None

    def limits(self) -> EvseLimits:
        return EvseLimits(self.max_current_a, self.phases, self.max_power_w)


class EvseView(BaseModel):
    id: UUID
    charge_point_id: str
    connector_id: int
    max_current_a: float | None
    phases: int | None
    max_power_w: float | None
    group_id: UUID | None
    group_name: str | None
    status: dict[str, Any] = Field(default_factory=dict, description="connection and profile")


class InviteIn(Strict):
    email: Email = Field(examples=["anna@example.com"])


class UserView(BaseModel):
    id: UUID
    email: str
    role: str
    status: Literal["invited", "active", "revoked", "disabled"]  # disabled: operators only
    created_at: datetime
    invited_at: datetime | None
    invitation_expires_at: datetime | None
    activated_at: datetime | None


class LoginIn(Strict):
    email: Email = Field(examples=["anna@example.com"])
    password: Password


class SessionView(BaseModel):
    token: str = Field(description="send as 'Authorization: Bearer <token>'")
    user_id: UUID
    email: str
    role: str


class MeView(BaseModel):
    user_id: UUID
    email: str
    role: str


class InvitationView(BaseModel):
    email: str
    expires_at: datetime


class PasswordChangeIn(Strict):
    current_password: Password
    new_password: NewPassword


class AcceptInvitationIn(Strict):
    password: NewPassword


class AuditEntryView(BaseModel):
    position: int
    at: datetime
    action: str
    actor_id: UUID | None
    actor_email: str | None
    actor_role: str
    group_id: UUID | None
    user_id: UUID | None
    evse_id: UUID | None
    old_value: Any = None
    new_value: Any = None
    changes: dict[str, Any] | None = Field(
        default=None,
        description="for exclusion_times_set: the windows added, removed and changed"
        " ({from, to}), rather than the whole list",
    )

    @model_validator(mode="before")
    @classmethod
    def _window_changes(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("action") != "exclusion_times_set":
            return data
        try:
            old = parse_windows(data.get("old_value") or [], stored=True)
            new = parse_windows(data.get("new_value") or [], stored=True)
        except InvalidInput:  # recorded in a shape no longer read as windows: lists only
            return data
        changes = window_changes(old, new)
        return {
            **data,
            "changes": {
                "added": [window.to_dict() for window in changes.added],
                "removed": [window.to_dict() for window in changes.removed],
                "changed": [
                    {"from": before.to_dict(), "to": after.to_dict()}
                    for before, after in changes.changed
                ],
            },
        }


class FieldErrorView(BaseModel):
    field: str = Field(examples=["windows[0].start"], description="as a path in the body")
    location: str = Field(examples=["body"], description="body, query or path")
    message: str = Field(examples=["must be a time of day as HH:MM, from 00:00 to 23:59"])
    type: str = Field(examples=["string_pattern_mismatch"])


class HomeUserRefView(BaseModel):
    id: UUID
    email: str | None


class ErrorView(BaseModel):
    """Every refusal (4xx) has this body: `detail` says what was wrong, naming the field."""

    detail: str = Field(examples=["windows[0].start: must be a time of day as HH:MM"])
    errors: list[FieldErrorView] = Field(
        default_factory=list, description="each invalid field, when the request was malformed"
    )
    current_home_user: HomeUserRefView | None = Field(
        default=None, description="with 409 on setting a home user: the group's current one"
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorView, "description": "Refused: the detail says why"},
}


class PreviewIntervalView(BaseModel):
    start_utc: datetime
    end_utc: datetime
    start_local: datetime = Field(description="in the group's time zone, with its UTC offset")
    end_local: datetime
    limit: float
    unit: Literal["A", "W"]
    reason: Literal["exclusion", "priority", "free"]


class EvseScheduleView(BaseModel):
    evse_id: UUID
    charge_point_id: str
    connector_id: int
    intervals: list[PreviewIntervalView]


class ScheduleView(BaseModel):
    group_id: UUID
    time_zone: str
    generated_at: datetime
    days: int
    evses: list[EvseScheduleView]
