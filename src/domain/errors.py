"""The domain's refusals, in the domain's words. The API maps each kind to one HTTP status."""

from __future__ import annotations

from uuid import UUID


class DomainError(Exception):
    """A command was refused; the message says why, for the person who sent it."""


class InvalidInput(DomainError):
    """A value is malformed or out of range (HTTP 422)."""


class InvalidExclusionTimes(InvalidInput):
    pass


class UnknownTimeZone(InvalidInput):
    pass


class NotFound(DomainError):
    """The thing named does not exist (HTTP 404)."""


class Conflict(DomainError):
    """The command contradicts the current state (HTTP 409)."""


class Forbidden(DomainError):
    """The actor may not do this (HTTP 403)."""


class ScheduleUnavailable(Conflict):
    """A group's state cannot be turned into profiles (the scheduler records why, on the
    group); it is shown, not hidden behind an error page."""


class GroupAlreadyHasHomeUser(Conflict):
    def __init__(self, group_id: UUID, current_user_id: UUID, current_email: str | None = None):
        self.group_id = group_id
        self.current_user_id = current_user_id
        self.current_email = current_email
        who = current_email or str(current_user_id)
        super().__init__(
            f"this group already has a home user ({who}); a consumer-configured ToU group "
            "holds exactly one home user: remove that user first"
        )


class EvseInAnotherGroup(Conflict):
    def __init__(self, evse_id: UUID, group_id: UUID):
        self.evse_id = evse_id
        self.group_id = group_id
        super().__init__(
            f"EVSE {evse_id} already belongs to group {group_id}; remove it there or move it"
        )


class EvseMovedMeanwhile(Conflict):
    """The EVSE is no longer in the group its mover saw it in: someone moved it first."""

    def __init__(self, evse_id: UUID, group_id: UUID | None):
        self.evse_id = evse_id
        self.group_id = group_id
        where = f"is in group {group_id}" if group_id else "is in no group"
        super().__init__(f"EVSE {evse_id} was moved meanwhile and now {where}; nothing changed")


class GroupDeleted(NotFound):
    pass


class EmailAlreadyRegistered(Conflict):
    pass


class EvseAlreadyRegistered(Conflict):
    pass


class WrongPassword(InvalidInput):
    """The current password given to change it is not the account's (a guess, for the
    API's throttle to count)."""


class InvitationInvalid(DomainError):
    """The invitation token is unknown, used, revoked or expired (HTTP 400/410)."""


class ConcurrentChange(Conflict):
    """Another change to the same thing won a race and retrying did not help."""


class ResetLinkInvalid(InvitationInvalid):
    """A password-reset link that is unknown, used, voided by a newer one or expired; a
    one-time link that no longer works, as an invitation's (HTTP 410)."""
