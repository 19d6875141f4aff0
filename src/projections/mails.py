"""Which recorded events call for a mail, and what it says: the one place that decides mails.

Every path that changes the domain (the JSON API, the portals' pages, the CLI, the
next one) records events; the mail follower turns these events into rows of the
mail outbox, so each path sends the same mail, once:

- an invitation issued, first or again (`Invitation.Issued`): the invitation with its
  link, naming the group it brings the home user into when there is one. The event
  holds only the token's hash; the command service saved the plain token beside the
  event, in the same transaction, and it is taken from there;
- a password reset asked (`PasswordReset.Asked`, recorded only for an account that may
  log in, and not too often): the one-time link, whose token was saved beside the event
  as an invitation's is. A missing token makes no mail (the person asks again);
- a home user added to a group (`SmartChargingGroup.HomeUserAdded`), when the group
  is created with him or later: "your charger is now in the group", with the group's
  name as it was then. The event is recorded only when the home user changes. A home
  user added while still invited (`invited`) gets no such mail: his one mail is the
  invitation, whose link sets the password; the portal's login is no use to him yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic
from psycopg import Cursor

from domain.groups import SmartChargingGroup
from domain.password_resets import RESET_VALIDITY, PasswordReset
from domain.users import Invitation, User
from projections.mail_texts import Mail, MailTexts
from projections.tables import Tables

INVITATION_ISSUED: Any = Invitation.Issued
HOME_USER_ADDED: Any = SmartChargingGroup.HomeUserAdded
RESET_ASKED: Any = PasswordReset.Asked
TOPICS = (get_topic(INVITATION_ISSUED), get_topic(HOME_USER_ADDED), get_topic(RESET_ASKED))

log = logging.getLogger(__name__)

# (aggregate id, version or None for the latest) -> the aggregate as it was then
Load = Callable[[UUID, int | None], Any]


class InvitationTokenMissing(Exception):
    """An invitation recorded without its token beside it (by a version before the mail
    outbox, or by a process whose recorder does not keep tokens): its link cannot be
    made. The event is stuck; the operator resends the invitation."""


class MailReactions:
    def __init__(self, texts: MailTexts, tables: Tables, load: Load, invitation_days: float):
        self.texts = texts
        self.tables = tables
        self.load = load
        self.invitation_days = invitation_days

    def mail_for(self, curs: Cursor[Any], event: Any) -> Mail | None:
        """The mail `event` calls for, if any; runs in the outbox's transaction."""
        if isinstance(event, INVITATION_ISSUED):
            return self._invitation(curs, event)
        if isinstance(event, HOME_USER_ADDED):
            return None if getattr(event, "invited", False) else self._added_to_group(event)
        if isinstance(event, RESET_ASKED):
            return self._password_reset(curs, event)
        return None

    def _invitation(self, curs: Cursor[Any], event: Any) -> Mail:
        curs.execute(
            f"DELETE FROM {self.tables.invitation_tokens} WHERE invitation_id = %s RETURNING token",
            (event.originator_id,),
        )
        row = curs.fetchone()
        if row is None:
            raise InvitationTokenMissing(
                f"no token was kept for invitation {event.originator_id}; resend the invitation"
            )
        token = row["token"] if isinstance(row, dict) else row[0]
        group_name = getattr(event, "group_name", None)  # none in events recorded before
        return self.texts.invitation(event.email, token, self.invitation_days, group_name)

    def _password_reset(self, curs: Cursor[Any], event: Any) -> Mail | None:
        curs.execute(
            f"DELETE FROM {self.tables.reset_tokens} WHERE reset_id = %s RETURNING token",
            (event.originator_id,),
        )
        row = curs.fetchone()
        if row is None:  # nothing an operator could do about it: the person asks again
            log.warning("no token was kept for password reset %s; no mail", event.originator_id)
            return None
        token = row["token"] if isinstance(row, dict) else row[0]
        minutes = RESET_VALIDITY.total_seconds() / 60
        return self.texts.password_reset(event.email, token, minutes)

    def _added_to_group(self, event: Any) -> Mail:
        group: SmartChargingGroup = self.load(event.originator_id, event.originator_version)
        user: User = self.load(event.user_id, None)
        return self.texts.added_to_group(user.email, group.name)
